//! Kubernetes `resource.Quantity` parsing and canonical spelling (`1024Mi` → `1Gi`).
//!
//! The API server stores quantities in canonical form; a manifest that spells them otherwise
//! shows a permanent diff in GitOps tools, so tdgen emits only canonical forms.

use std::fmt;

/// A parsed quantity, exact to the milli-unit (finer precision rounds up, as Kubernetes does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    milli: i128,
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    BinarySi,
    DecimalSi,
    DecimalExponent,
}

const BINARY: [(&str, u32); 6] = [("Ki", 1), ("Mi", 2), ("Gi", 3), ("Ti", 4), ("Pi", 5), ("Ei", 6)];
const DECIMAL: [(&str, i32); 7] = [("m", -3), ("", 0), ("k", 3), ("M", 6), ("G", 9), ("T", 12), ("P", 15)];
const EXA: (&str, i32) = ("E", 18);

/// Why a string is not a quantity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QuantityError {
    /// Not `<number><suffix>`.
    #[error("`{0}` is not a Kubernetes quantity (a number with an optional suffix such as Mi, Gi, m, k)")]
    Syntax(String),
    /// The suffix is not one Kubernetes knows.
    #[error("`{input}` has an unknown suffix `{suffix}` (binary: Ki Mi Gi Ti Pi Ei; decimal: m k M G T P E)")]
    Suffix {
        /// The whole input.
        input: String,
        /// The unrecognised suffix.
        suffix: String,
    },
    /// Too large to represent.
    #[error("`{0}` is too large")]
    Overflow(String),
}

impl Quantity {
    /// Parse a Kubernetes quantity such as `5Gi`, `500m`, `1.5`, `1e3`.
    pub fn parse(input: &str) -> Result<Self, QuantityError> {
        let syntax = || QuantityError::Syntax(input.to_owned());
        let number_end = input
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
            .unwrap_or(input.len());
        let (number, suffix) = input.split_at(number_end);
        let (negative, digits) = match number.as_bytes().first() {
            Some(b'-') => (true, &number[1..]),
            Some(b'+') => (false, &number[1..]),
            _ => (false, number),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let valid_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (whole.is_empty() && fraction.is_empty()) || !valid_digits(whole) || !valid_digits(fraction) {
            return Err(syntax());
        }
        let overflow = || QuantityError::Overflow(input.to_owned());
        // Value in units of 10^-9 first, so rounding up to milli is exact.
        let mut nano: i128 = 0;
        for b in whole.bytes() {
            nano = nano
                .checked_mul(10)
                .and_then(|n| n.checked_add(i128::from(b - b'0')))
                .ok_or_else(overflow)?;
        }
        nano = nano.checked_mul(1_000_000_000).ok_or_else(overflow)?;
        let mut scale = 100_000_000i128;
        for b in fraction.bytes() {
            nano += i128::from(b - b'0') * scale;
            scale /= 10;
            if scale == 0 {
                break;
            }
        }
        let (format, multiply, exponent) = parse_suffix(suffix).ok_or_else(|| {
            if suffix.starts_with(|c: char| c.is_ascii_alphabetic()) {
                QuantityError::Suffix {
                    input: input.to_owned(),
                    suffix: suffix.to_owned(),
                }
            } else {
                syntax()
            }
        })?;
        let mut value = nano.checked_mul(multiply).ok_or_else(overflow)?;
        if exponent >= 0 {
            value = value.checked_mul(10i128.pow(exponent as u32)).ok_or_else(overflow)?;
        } else {
            let divisor = 10i128.pow(exponent.unsigned_abs());
            value = div_ceil(value, divisor);
        }
        let milli = div_ceil(value, 1_000_000);
        Ok(Quantity {
            milli: if negative { -milli } else { milli },
            format,
        })
    }

    /// A byte count, spelled with binary suffixes (`16106127360` → `15Gi`).
    pub fn from_bytes(bytes: i128) -> Quantity {
        Quantity {
            milli: bytes.saturating_mul(1000),
            format: Format::BinarySi,
        }
    }

    /// The canonical spelling the API server would store.
    pub fn canonical(&self) -> String {
        self.to_string()
    }

    /// The value in thousandths of a unit (millicores for CPU), for comparisons.
    pub fn milli_units(&self) -> i128 {
        self.milli
    }

    /// The value in whole units, rounded up (bytes for memory and storage).
    pub fn ceil_units(&self) -> i128 {
        div_ceil(self.milli, 1000)
    }
}

fn parse_suffix(suffix: &str) -> Option<(Format, i128, i32)> {
    if let Some(&(_, power)) = BINARY.iter().find(|(s, _)| *s == suffix) {
        return Some((Format::BinarySi, 1024i128.pow(power), 0));
    }
    if let Some(&(_, exp)) = DECIMAL.iter().chain([&EXA]).find(|(s, _)| *s == suffix) {
        return Some((Format::DecimalSi, 1, exp));
    }
    let exponent = suffix.strip_prefix(['e', 'E'])?;
    let exp: i32 = exponent.parse().ok().filter(|e: &i32| e.abs() <= 30)?;
    Some((Format::DecimalExponent, 1, exp))
}

fn div_ceil(value: i128, divisor: i128) -> i128 {
    let q = value / divisor;
    if value % divisor > 0 { q + 1 } else { q }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole_units = self.milli % 1000 == 0;
        let units = self.milli / 1000;
        // Kubernetes falls back to decimal for binary values below 1Ki or with fractions.
        if self.format == Format::BinarySi && whole_units && units.abs() >= 1024 {
            let mut mantissa = units;
            let mut power = 0;
            while power < BINARY.len() && mantissa % 1024 == 0 {
                mantissa /= 1024;
                power += 1;
            }
            let suffix = if power == 0 { "" } else { BINARY[power - 1].0 };
            return write!(f, "{mantissa}{suffix}");
        }
        if self.milli == 0 {
            return f.write_str("0");
        }
        let mut mantissa = self.milli;
        let mut exp = -3;
        while mantissa % 1000 == 0 && exp < 18 {
            mantissa /= 1000;
            exp += 3;
        }
        if self.format == Format::DecimalExponent {
            return if exp == 0 {
                write!(f, "{mantissa}")
            } else {
                write!(f, "{mantissa}e{exp}")
            };
        }
        let suffix = DECIMAL
            .iter()
            .chain([&EXA])
            .find(|(_, e)| *e == exp)
            .map_or("", |(s, _)| s);
        write!(f, "{mantissa}{suffix}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms_match_the_api_server() {
        let cases = [
            ("5Gi", "5Gi"),
            ("1024Mi", "1Gi"),
            ("1.5Gi", "1536Mi"),
            ("0.5Gi", "512Mi"),
            ("1000Mi", "1000Mi"),
            ("512", "512"),
            ("1000m", "1"),
            ("1500m", "1500m"),
            ("0.5", "500m"),
            ("1000k", "1M"),
            ("12000m", "12"),
            ("100Gi", "100Gi"),
            ("1e3", "1e3"),
            ("0", "0"),
            ("10G", "10G"),
            ("0.0001", "1m"),
        ];
        for (input, canonical) in cases {
            assert_eq!(Quantity::parse(input).unwrap().canonical(), canonical, "{input}");
        }
    }

    #[test]
    fn rejects_non_quantities() {
        for bad in ["", "abc", "5gi", "5GB", "Gi", "1.2.3", "--1", "5 Gi", "."] {
            assert!(Quantity::parse(bad).is_err(), "{bad} accepted");
        }
        assert!(matches!(Quantity::parse("5GB"), Err(QuantityError::Suffix { .. })));
    }

    #[test]
    fn units_round_up() {
        assert_eq!(Quantity::parse("1Gi").unwrap().ceil_units(), 1 << 30);
        assert_eq!(Quantity::parse("1500m").unwrap().ceil_units(), 2);
    }
}
