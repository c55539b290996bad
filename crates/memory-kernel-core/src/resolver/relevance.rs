//! BM25 relevance for recall (see `docs/spec/resolver.md`, "Relevance").
//!
//! The score must be the same bits on every platform, because it orders the package. Only
//! IEEE 754 addition, subtraction, multiplication and division are used (correctly rounded
//! everywhere); the logarithm is computed here from those, in a fixed order, instead of calling
//! the platform's `ln`, whose last bit may differ between C libraries.

use crate::terms::TermStats;

/// BM25 term-frequency saturation.
pub const K1: f64 = 1.2;
/// BM25 length normalisation.
pub const B: f64 = 0.75;
/// Scores are quantised to millionths before ordering, so the order never hangs on the last
/// bits of a float and the score can be printed exactly.
pub const SCALE: f64 = 1_000_000.0;

/// Natural logarithm of `x > 0` from basic arithmetic only: `x = m · 2^e` with `m` in
/// `[1/√2, √2)`, then `ln m = 2·atanh(s)` with `s = (m − 1)/(m + 1)` summed as a series.
#[must_use]
pub fn ln(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    if x.is_infinite() {
        return x;
    }
    const LN_2: f64 = std::f64::consts::LN_2;
    const SQRT_2: f64 = std::f64::consts::SQRT_2;
    let mut m = x;
    let mut e: i32 = 0;
    while m >= SQRT_2 {
        m /= 2.0;
        e += 1;
    }
    while m < SQRT_2 / 2.0 {
        m *= 2.0;
        e -= 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    // |s| < 0.1716, so 20 odd terms reach far below f64 precision.
    let mut power = s;
    let mut sum = 0.0;
    let mut k = 1.0;
    for _ in 0..20 {
        sum += power / k;
        power *= s2;
        k += 2.0;
    }
    2.0 * sum + f64::from(e) * LN_2
}

/// Corpus figures a score needs: `documents` visible records of the searched types, and for
/// each query term how many of them contain it; `average_length` over the matching records.
#[derive(Debug, Clone, PartialEq)]
pub struct Corpus {
    /// Visible records of the searched types.
    pub documents: u64,
    /// Document frequency of each query term.
    pub document_frequencies: Vec<u64>,
    /// Mean term count of the records that match at least one term.
    pub average_length: f64,
}

impl Corpus {
    /// Figures from the matching records' statistics and the visible count.
    #[must_use]
    pub fn from_matches<'a>(
        documents: u64,
        term_count: usize,
        matches: impl IntoIterator<Item = &'a TermStats>,
    ) -> Self {
        let mut document_frequencies = vec![0u64; term_count];
        let mut total_length: u64 = 0;
        let mut matched: u64 = 0;
        for stats in matches {
            matched += 1;
            total_length += u64::from(stats.length);
            for (df, tf) in document_frequencies.iter_mut().zip(&stats.frequencies) {
                if *tf > 0 {
                    *df += 1;
                }
            }
        }
        let average_length = if matched == 0 {
            1.0
        } else {
            total_length as f64 / matched as f64
        };
        Self {
            documents: documents.max(matched),
            document_frequencies,
            average_length,
        }
    }

    /// The BM25 score of one record, quantised to millionths.
    #[must_use]
    pub fn score(&self, stats: &TermStats) -> u32 {
        let n = self.documents as f64;
        let length_norm = 1.0 - B + B * f64::from(stats.length) / self.average_length.max(1.0);
        let mut score = 0.0;
        for (tf, df) in stats.frequencies.iter().zip(&self.document_frequencies) {
            if *tf == 0 {
                continue;
            }
            let df = *df as f64;
            let idf = ln(1.0 + (n - df + 0.5) / (df + 0.5));
            let tf = f64::from(*tf);
            score += idf * (tf * (K1 + 1.0)) / (tf + K1 * length_norm);
        }
        from_decimal(score)
    }
}

/// The quantised score of a decimal shown in a package (inverse of [`as_decimal`]).
#[must_use]
pub fn from_decimal(value: f64) -> u32 {
    let quantised = (value * SCALE).round();
    if quantised >= f64::from(u32::MAX) {
        u32::MAX
    } else if quantised > 0.0 {
        quantised as u32
    } else {
        0
    }
}

/// A quantised score as the decimal the package shows.
#[must_use]
pub fn as_decimal(score: u32) -> f64 {
    f64::from(score) / SCALE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_matches_the_platform_within_an_ulp_or_two() {
        for x in [1e-9, 0.001, 0.5, 0.7, 1.0, 1.5, 2.0, 10.0, 1234.5, 1e12] {
            let ours = ln(x);
            let platform = x.ln();
            assert!((ours - platform).abs() <= 4.0 * f64::EPSILON * platform.abs().max(1.0));
        }
        assert_eq!(ln(1.0), 0.0);
        assert!(ln(0.0).is_nan());
    }

    #[test]
    fn decimals_round_trip_every_quantised_score() {
        for score in [0, 1, 507, 999_999, 1_000_000, 123_456_789, u32::MAX - 1] {
            assert_eq!(from_decimal(as_decimal(score)), score);
        }
    }

    #[test]
    fn rarer_terms_and_higher_frequencies_score_higher() {
        let rare = TermStats {
            frequencies: vec![1, 0],
            length: 5,
        };
        let common = TermStats {
            frequencies: vec![0, 1],
            length: 5,
        };
        let twice = TermStats {
            frequencies: vec![0, 2],
            length: 5,
        };
        let corpus = Corpus {
            documents: 1000,
            document_frequencies: vec![2, 500],
            average_length: 5.0,
        };
        assert!(corpus.score(&rare) > corpus.score(&common));
        assert!(corpus.score(&twice) > corpus.score(&common));
    }
}
