//! The negative table: one row per mutation, each naming the check it breaks and the
//! messages that check must report.

use std::fs;
use std::path::Path;

use serde_json::json;

use super::Check;
use super::tree::{
    CONSUMER, CORRECTIONS, ENVELOPE, HANDOFF, MANIFEST, OPENAPI, PROPOSED, SERVICE_DOC, SOT,
    STATUS_DOC, TRUST, changelog, consumer, edit_json, edit_yaml, git_base, mirror, read,
    register_mirror, replace, side_commit, swap_first_codes, write,
};

// ---- the table ----------------------------------------------------------------------------

pub(crate) struct Case {
    pub(crate) name: &'static str,
    pub(crate) check: Check,
    pub(crate) mutate: fn(&Path),
    /// Every one of these must appear in the failure.
    pub(crate) expect: &'static [&'static str],
}

pub(crate) const CASES: &[Case] = &[
    // codegen --check
    Case {
        name: "openapi_copy_version_changed",
        check: Check::Codegen,
        mutate: |r| replace(r, OPENAPI, "version: service.v3", "version: service.v2"),
        expect: &[
            "contracts/openapi/service.v3.yaml has drifted",
            "+  version: service.v2",
            "fix: run `cargo xtask codegen`",
        ],
    },
    Case {
        name: "openapi_request_constraint_dropped",
        check: Check::Codegen,
        mutate: |r| {
            replace(
                r,
                OPENAPI,
                "        from:\n          type: string\n          pattern: ^[0-7][0-9A-HJKMNP-TV-Z]{25}$\n",
                "        from:\n          type: string\n",
            )
        },
        expect: &[
            "contracts/openapi/service.v3.yaml has drifted",
            "-          pattern: ^[0-7][0-9A-HJKMNP-TV-Z]{25}$",
            "fix: run `cargo xtask codegen`",
        ],
    },
    Case {
        name: "error_code_block_stale",
        check: Check::Codegen,
        mutate: |r| {
            replace(
                r,
                SERVICE_DOC,
                "| `write_conflict` | 409 |",
                "| `write_conflict` | 400 |",
            )
        },
        expect: &[
            "docs/spec/service-contract.md has drifted",
            "-| `write_conflict` | 409 |",
        ],
    },
    Case {
        name: "active_runtime_baseline_stale",
        check: Check::Codegen,
        mutate: |r| {
            replace(
                r,
                STATUS_DOC,
                "| `release_tag` | `v0.1.0` |",
                "| `release_tag` | `v0.0.9` |",
            )
        },
        expect: &["docs/implementation/ACTIVE_RUNTIME_STATUS.md has drifted"],
    },
    Case {
        name: "generated_marker_missing",
        check: Check::Codegen,
        mutate: |r| {
            replace(
                r,
                STATUS_DOC,
                "<!-- generated:active-runtime-baseline -->\n",
                "",
            )
        },
        expect: &["ACTIVE_RUNTIME_STATUS.md", "without an opening"],
    },
    Case {
        name: "unknown_generated_block",
        check: Check::Codegen,
        mutate: |r| {
            let text = read(r, "docs/spec/versioning.md");
            write(
                r,
                "docs/spec/versioning.md",
                &format!("{text}\n<!-- generated:bogus -->\n<!-- /generated -->\n"),
            );
        },
        expect: &["unknown generated block `bogus`"],
    },
    Case {
        name: "published_handoff_stale_for_codegen",
        check: Check::Codegen,
        mutate: |r| {
            replace(
                r,
                HANDOFF,
                "\"release_tag\": \"v0.1.0\"",
                "\"release_tag\": \"v0.0.1\"",
            )
        },
        expect: &["PRODUCER_RELEASE_HANDOFF_LATEST.json has drifted"],
    },
    // contracts
    Case {
        name: "source_of_truth_codes_reordered",
        check: Check::Contracts,
        mutate: |r| edit_json(r, SOT, swap_first_codes),
        expect: &[
            "disagrees with contracts/integration/v1/service-contract-source-of-truth.json on error_code_enum",
        ],
    },
    Case {
        name: "source_of_truth_readiness_path",
        check: Check::Contracts,
        mutate: |r| edit_json(r, SOT, |v| v["readiness_endpoint"] = json!("/v1/readyz")),
        expect: &["on readiness_endpoint", "+\"/v1/ready\""],
    },
    Case {
        name: "openapi_code_missing",
        check: Check::Contracts,
        mutate: |r| {
            edit_yaml(r, OPENAPI, |v| {
                let codes = v["components"]["schemas"]["ErrorEnvelope"]["properties"]["error"]["properties"]["code"]["enum"]
                .as_array_mut()
                .unwrap();
                codes.retain(|code| code != "context_lookup_failed");
            })
        },
        expect: &[
            "the error envelope's code enum",
            "-  \"context_lookup_failed\",",
        ],
    },
    Case {
        name: "openapi_request_string_unconstrained",
        check: Check::Contracts,
        mutate: |r| {
            edit_yaml(r, OPENAPI, |v| {
                let writer = v["components"]["schemas"]["LinkRequest"]["properties"]["writer"]
                    .as_object_mut()
                    .unwrap();
                writer.remove("pattern");
                writer.remove("minLength");
            })
        },
        expect: &["request field LinkRequest.writer is a string that states no `pattern`"],
    },
    Case {
        name: "openapi_envelope_defines_api_contract_version",
        check: Check::Contracts,
        mutate: |r| {
            edit_yaml(r, OPENAPI, |v| {
                v["components"]["schemas"]["ErrorEnvelope"]["properties"]["api_contract_version"] =
                    json!({"type": "string"});
            })
        },
        expect: &["defines `api_contract_version`"],
    },
    Case {
        name: "openapi_envelope_defines_legacy_error",
        check: Check::Contracts,
        mutate: |r| {
            edit_yaml(r, OPENAPI, |v| {
                v["components"]["schemas"]["ErrorEnvelope"]["properties"]["error"]["properties"]
                    ["legacy_error"] = json!({"type": "string"});
            })
        },
        expect: &["defines `legacy_error`"],
    },
    Case {
        name: "openapi_status_not_declared",
        check: Check::Contracts,
        mutate: |r| {
            edit_yaml(r, OPENAPI, |v| {
                v["paths"]["/v1/memory/link"]["post"]["responses"]
                    .as_object_mut()
                    .unwrap()
                    .remove("409");
            })
        },
        expect: &["POST /v1/memory/link does not declare its 409 response (`write_conflict`)"],
    },
    Case {
        name: "openapi_failure_without_envelope",
        check: Check::Contracts,
        mutate: |r| {
            edit_yaml(r, OPENAPI, |v| {
                v["paths"]["/v1/health"]["get"]["responses"]["405"] =
                    json!({"description": "nope"});
            })
        },
        expect: &["GET /v1/health 405 has no application/json schema $ref"],
    },
    Case {
        name: "schema_id_removed",
        check: Check::Contracts,
        mutate: |r| {
            edit_json(r, TRUST, |v| {
                v.as_object_mut().unwrap().remove("$id");
            })
        },
        expect: &["trust-gate-attachment.schema.json has no `$id`"],
    },
    Case {
        name: "schema_id_duplicated",
        check: Check::Contracts,
        mutate: |r| {
            edit_json(r, PROPOSED, |v| {
                v["$id"] = json!(
                    "https://memorykernel.dev/contracts/integration/v1/trust-gate-attachment.schema.json"
                );
            })
        },
        expect: &[
            "trust-gate-attachment.schema.json: `$id`",
            "is already the `$id` of",
        ],
    },
    Case {
        name: "schema_not_2020_12",
        check: Check::Contracts,
        mutate: |r| edit_json(r, PROPOSED, |v| v["type"] = json!("objekt")),
        expect: &["proposed-memory-write.schema.json is not a valid JSON Schema 2020-12"],
    },
    Case {
        name: "schema_empty_key",
        check: Check::Contracts,
        mutate: |r| {
            edit_json(r, PROPOSED, |v| {
                v["properties"][""] = json!({"type": "string"})
            })
        },
        expect: &["proposed-memory-write.schema.json has an empty key at /properties/"],
    },
    Case {
        name: "fixture_no_longer_validates",
        check: Check::Contracts,
        mutate: |r| {
            edit_json(
                r,
                "contracts/integration/v1/fixtures/trust-gate-attachment.sample.json",
                |v| {
                    v["confidence_effective"] = json!(2);
                },
            )
        },
        expect: &[
            "trust-gate-attachment.sample.json does not validate against",
            "/confidence_effective",
        ],
    },
    Case {
        name: "fixture_without_schema",
        check: Check::Contracts,
        mutate: |r| {
            write(
                r,
                "contracts/integration/v1/fixtures/orphan.sample.json",
                "{}\n",
            )
        },
        expect: &["orphan.sample.json has no schema"],
    },
    Case {
        name: "schema_without_sample",
        check: Check::Contracts,
        mutate: |r| {
            fs::remove_file(
                r.join("contracts/integration/v1/fixtures/proposed-memory-write.sample.json"),
            )
            .unwrap()
        },
        expect: &["proposed-memory-write.schema.json has no sample"],
    },
    Case {
        name: "pack_error_envelope_allows_api_contract_version",
        check: Check::Contracts,
        mutate: |r| {
            edit_json(r, ENVELOPE, |v| {
                v.as_object_mut().unwrap().remove("not");
                v["properties"]["api_contract_version"] = json!({"type": "string"});
            })
        },
        expect: &["error-envelope.schema.json must forbid `api_contract_version`"],
    },
    Case {
        name: "pack_error_envelope_code_missing",
        check: Check::Contracts,
        mutate: |r| {
            edit_json(r, ENVELOPE, |v| {
                v["properties"]["error"]["properties"]["code"]["enum"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|code| code != "internal_error");
            })
        },
        expect: &["error-envelope.schema.json: the code enum differs"],
    },
    // manifest
    Case {
        name: "manifest_service_version_v2",
        check: Check::Manifest,
        mutate: |r| {
            edit_json(r, MANIFEST, |v| {
                v["expected_service_contract_version"] = json!("service.v2")
            })
        },
        expect: &[
            "expected_service_contract_version differs from the source of truth",
            "+\"service.v2\"",
        ],
    },
    Case {
        name: "manifest_codes_reordered",
        check: Check::Manifest,
        mutate: |r| edit_json(r, MANIFEST, swap_first_codes),
        expect: &["error_code_enum differs from the source of truth"],
    },
    Case {
        name: "manifest_release_tag_not_semver",
        check: Check::Manifest,
        mutate: |r| edit_json(r, MANIFEST, |v| v["release_tag"] = json!("v0.1")),
        expect: &["release_tag \"v0.1\" is not vX.Y.Z"],
    },
    Case {
        name: "manifest_commit_sha_uppercase",
        check: Check::Manifest,
        mutate: |r| {
            edit_json(r, MANIFEST, |v| {
                let upper = v["commit_sha"].as_str().unwrap().to_uppercase();
                v["commit_sha"] = json!(upper);
            })
        },
        expect: &["is not 40 lowercase hex digits"],
    },
    Case {
        name: "manifest_notice_days_changed",
        check: Check::Manifest,
        mutate: |r| {
            edit_json(r, MANIFEST, |v| {
                v["additive_error_code_notice_policy"]["standard_business_days"] = json!(5)
            })
        },
        expect: &["standard_business_days is 5, docs/spec/integration-contract.md sets it to 10"],
    },
    Case {
        name: "manifest_unknown_field",
        check: Check::Manifest,
        mutate: |r| edit_json(r, MANIFEST, |v| v["surprise"] = json!(true)),
        expect: &[
            "does not validate against contracts/integration/v1/schemas/producer-contract-manifest.schema.json",
        ],
    },
    Case {
        name: "manifest_commit_not_ancestor",
        check: Check::Manifest,
        mutate: |r| {
            git_base(r);
            let sha = side_commit(r);
            edit_json(r, MANIFEST, |v| v["commit_sha"] = json!(sha));
        },
        expect: &["is not an ancestor of HEAD"],
    },
    Case {
        name: "manifest_commit_unknown",
        check: Check::Manifest,
        mutate: |r| {
            git_base(r);
            edit_json(r, MANIFEST, |v| {
                v["commit_sha"] = json!("0123456789abcdef0123456789abcdef01234567")
            });
        },
        expect: &["is not a commit of this repository"],
    },
    Case {
        name: "manifest_names_an_unrecorded_release",
        check: Check::Manifest,
        mutate: |r| edit_json(r, MANIFEST, |v| v["release_tag"] = json!("v9.9.9")),
        expect: &[
            "release_tag v9.9.9 names a release that is not recorded",
            "cargo xtask release cut 9.9.9",
        ],
    },
    Case {
        name: "manifest_commit_is_not_the_release_commit",
        check: Check::Manifest,
        mutate: |r| {
            edit_json(r, MANIFEST, |v| {
                v["commit_sha"] = json!("0123456789abcdef0123456789abcdef01234567")
            })
        },
        expect: &["is not the commit release 0.1.0 was cut from"],
    },
    // parity --consumer
    Case {
        name: "consumer_pins_a_wrong_manifest_sha256",
        check: Check::Consumer,
        mutate: |r| {
            consumer(r);
            let pin = format!("{CONSUMER}/{}", xtask::parity::PIN_FILE);
            edit_json(r, &pin, |v| v["manifest_sha256"] = json!("0".repeat(64)));
        },
        expect: &[
            "manifest_sha256 is 0000",
            "copy the manifest again and re-pin",
        ],
    },
    Case {
        name: "consumer_pack_copy_one_byte_off",
        check: Check::Consumer,
        mutate: |r| {
            consumer(r);
            let copy = format!("{CONSUMER}/vendor/memorykernel/service-slo-policy.json");
            let text = read(r, &copy);
            write(r, &copy, &text.replacen('{', "[", 1));
        },
        expect: &["service-slo-policy.json differs from the canonical"],
    },
    Case {
        name: "consumer_pins_an_unrecorded_release",
        check: Check::Consumer,
        mutate: |r| {
            consumer(r);
            let pin = format!("{CONSUMER}/{}", xtask::parity::PIN_FILE);
            edit_json(r, &pin, |v| v["release"] = json!("7.7.7"));
        },
        expect: &["pins release 7.7.7 which is not recorded"],
    },
    // handoff verify
    Case {
        name: "published_handoff_field_changed",
        check: Check::Handoff,
        mutate: |r| {
            replace(
                r,
                HANDOFF,
                "\"changelog_path\": \"CHANGELOG.md\"",
                "\"changelog_path\": \"CHANGES.md\"",
            )
        },
        expect: &[
            "is not a fresh stable generation",
            "+  \"changelog_path\": \"CHANGES.md\"",
            "changelog_path names CHANGES.md, which does not exist",
        ],
    },
    Case {
        name: "published_handoff_absolute_path",
        check: Check::Handoff,
        mutate: |r| {
            replace(
                r,
                HANDOFF,
                "\"manifest_path\": \"contracts/",
                "\"manifest_path\": \"/srv/memorykernel/contracts/",
            )
        },
        expect: &[
            "manifest_path is \"/srv/memorykernel/contracts/integration/v1/producer-contract-manifest.json\": not a repo-relative path",
        ],
    },
    Case {
        name: "published_handoff_candidate_key",
        check: Check::Handoff,
        mutate: |r| {
            edit_json(r, HANDOFF, |v| {
                v["rehearsal_candidate"] = json!({"requires_runtime_cutover": false})
            })
        },
        expect: &["the stable payload carries the candidate-only key `rehearsal_candidate`"],
    },
    Case {
        name: "published_handoff_time_not_utc",
        check: Check::Handoff,
        mutate: |r| {
            edit_json(r, HANDOFF, |v| {
                let at = v["handoff_generated_at_utc"]
                    .as_str()
                    .unwrap()
                    .replace('Z', "+00:00");
                v["handoff_generated_at_utc"] = json!(at);
            })
        },
        expect: &["handoff_generated_at_utc is not RFC 3339 UTC"],
    },
    Case {
        name: "manifest_changed_without_regenerating_handoff",
        check: Check::Handoff,
        mutate: |r| edit_json(r, MANIFEST, |v| v["release_tag"] = json!("v0.2.0")),
        expect: &[
            "release_tag is \"v0.1.0\", the manifest says \"v0.2.0\"",
            "is not a fresh stable generation",
        ],
    },
    // parity
    Case {
        name: "mirror_extra_file_and_changed_byte",
        check: Check::Parity,
        mutate: |r| {
            let dir = mirror(r, &["cargo test"]);
            write(r, &format!("{dir}/extra.json"), "{}\n");
            replace(
                r,
                &format!("{dir}/service-contract-source-of-truth.json"),
                "service.v3",
                "service.v4",
            );
        },
        expect: &[
            "mirror consumer-a has extra.json, which the canonical pack",
            "mirror consumer-a: service-contract-source-of-truth.json differs from the canonical",
            "+  \"expected_service_contract_version\": \"service.v4\",",
        ],
    },
    Case {
        name: "mirror_missing_file",
        check: Check::Parity,
        mutate: |r| {
            let dir = mirror(r, &["cargo test"]);
            fs::remove_file(r.join(dir).join("schemas/error-envelope.schema.json")).unwrap();
        },
        expect: &["mirror consumer-a lacks schemas/error-envelope.schema.json"],
    },
    Case {
        name: "mirror_folder_missing",
        check: Check::Parity,
        mutate: |r| register_mirror(r, "mirrors/nowhere", &["cargo test"]),
        expect: &["mirror consumer-a: folder", "does not exist"],
    },
    Case {
        name: "mirror_without_validation_commands",
        check: Check::Parity,
        mutate: |r| {
            mirror(r, &[]);
        },
        expect: &["mirror \"consumer-a\" lists no validation command"],
    },
    // contracts diff --since v0.1.0 (the tree is a git repository tagged v0.1.0)
    Case {
        name: "breaking_schema_change_without_bump",
        check: Check::ContractsDiff,
        mutate: |r| {
            edit_json(r, TRUST, |v| {
                v["properties"].as_object_mut().unwrap().remove("capped");
                v["required"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|f| f != "capped");
            });
            changelog(r, "trust-gate-attachment.schema.json: `capped` removed.");
        },
        expect: &[
            "breaking change without a contract-version bump since v0.1.0",
            "property `capped` removed",
        ],
    },
    Case {
        name: "new_required_field_without_bump",
        check: Check::ContractsDiff,
        mutate: |r| {
            edit_json(r, TRUST, |v| {
                v["required"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!("ruleset_version"))
            });
            changelog(
                r,
                "trust-gate-attachment.schema.json: ruleset_version required.",
            );
        },
        expect: &["new required field `ruleset_version`"],
    },
    Case {
        name: "enum_value_removed_without_bump",
        check: Check::ContractsDiff,
        mutate: |r| {
            edit_json(r, ENVELOPE, |v| {
                v["properties"]["error"]["properties"]["code"]["enum"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|code| code != "internal_error");
            });
            changelog(r, "error-envelope.schema.json: one code fewer.");
        },
        expect: &[
            "breaking change without a contract-version bump",
            "enum value \"internal_error\" removed",
        ],
    },
    Case {
        name: "openapi_endpoint_removed_without_bump",
        check: Check::ContractsDiff,
        mutate: |r| {
            edit_yaml(r, OPENAPI, |v| {
                v["paths"]
                    .as_object_mut()
                    .unwrap()
                    .remove("/v1/memory/link");
            });
            changelog(r, "service.v3: link endpoint removed.");
        },
        expect: &[
            "endpoint POST /v1/memory/link removed",
            "bump the service version",
        ],
    },
    Case {
        name: "additive_change_without_changelog",
        check: Check::ContractsDiff,
        mutate: |r| {
            edit_json(r, PROPOSED, |v| {
                v["properties"]["note"] = json!({"type": "string"})
            })
        },
        expect: &[
            "proposed-memory-write.schema.json changed since v0.1.0 but no CHANGELOG.md entry",
        ],
    },
    Case {
        name: "source_of_truth_code_removed_without_bump",
        check: Check::ContractsDiff,
        mutate: |r| {
            edit_json(r, SOT, |v| {
                v["error_code_enum"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|code| code != "internal_error");
            });
            changelog(
                r,
                "service-contract-source-of-truth.json: internal_error dropped.",
            );
        },
        expect: &["error code \"internal_error\" removed"],
    },
    // contracts diff against the recorded release 0.1.0 and its listed corrections
    Case {
        name: "unlisted_request_tightening",
        check: Check::ReleaseDiff,
        mutate: |r| {
            edit_yaml(r, OPENAPI, |v| {
                v["components"]["schemas"]["LinkRequest"]["properties"]["writer"]["maxLength"] =
                    json!(64);
            })
        },
        expect: &[
            "breaking change without a contract-version bump since release 0.1.0",
            "constraint `maxLength` changed at #/components/schemas/LinkRequest/properties/writer",
        ],
    },
    Case {
        name: "listed_correction_dropped_from_the_list",
        check: Check::ReleaseDiff,
        mutate: |r| {
            edit_json(r, CORRECTIONS, |v| {
                v["corrections"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|c| c["id"] != "request-timestamp-pattern");
            })
        },
        expect: &[
            "breaking change without a contract-version bump since release 0.1.0",
            "constraint `pattern` changed at #/components/schemas/LinkRequest/properties/created_at",
        ],
    },
    Case {
        name: "listed_correction_not_in_the_diff",
        check: Check::ReleaseDiff,
        mutate: |r| {
            edit_json(r, CORRECTIONS, |v| {
                let entry = v["corrections"]
                    .as_array_mut()
                    .unwrap()
                    .iter_mut()
                    .find(|c| c["id"] == "request-non-blank")
                    .unwrap();
                entry["pointers"].as_array_mut().unwrap().push(json!(
                    "#/components/schemas/LinkRequest/properties/relation"
                ));
            })
        },
        expect: &[
            "correction `request-non-blank` lists `minLength` (none) → 1 at \
             #/components/schemas/LinkRequest/properties/relation",
            "the entry is stale",
        ],
    },
    Case {
        name: "listed_correction_with_another_value",
        check: Check::ReleaseDiff,
        mutate: |r| {
            edit_json(r, CORRECTIONS, |v| {
                let entry = v["corrections"]
                    .as_array_mut()
                    .unwrap()
                    .iter_mut()
                    .find(|c| c["id"] == "recall-record-types-min-items")
                    .unwrap();
                entry["now"] = json!(2);
            })
        },
        expect: &[
            "constraint `minItems` changed at #/components/schemas/RecallRequest/properties/record_types",
            "correction `recall-record-types-min-items` lists `minItems` (none) → 2",
        ],
    },
    Case {
        name: "correction_not_named_in_the_changelog",
        check: Check::ReleaseDiff,
        mutate: |r| {
            replace(
                r,
                "CHANGELOG.md",
                "`request-source-hash-pattern`",
                "source hashes",
            )
        },
        expect: &["`request-source-hash-pattern` is not named by any CHANGELOG.md line"],
    },
    Case {
        name: "accepted_breaking_change_not_called_breaking",
        check: Check::ReleaseDiff,
        mutate: |r| {
            replace(
                r,
                "CHANGELOG.md",
                "- Breaking since 0.1.0, accepted",
                "- Since 0.1.0, accepted",
            )
        },
        expect: &[
            "`request-canonical-ulid-pattern` is not named by a CHANGELOG.md line that calls it \
             breaking",
        ],
    },
    Case {
        name: "corrections_of_another_release",
        check: Check::ReleaseDiff,
        mutate: |r| edit_json(r, CORRECTIONS, |v| v["release"] = json!("0.0.9")),
        expect: &[
            "lists corrections of release 0.0.9, but the contracts are compared with release \
             0.1.0: the list is stale",
        ],
    },
];
