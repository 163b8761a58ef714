//! Cron schedules as a Kubernetes CronJob reads them: when one runs, so that an alert can say
//! "the newest backup is older than twice the schedule".
//!
//! The grammar is the CronJob controller's (`robfig/cron/v3`'s standard parser, as vendored by
//! Kubernetes): five fields (minute 0–59, hour 0–23, day of month 1–31, month 1–12 or
//! `JAN`–`DEC`, day of week 0–6 or `SUN`–`SAT`), each `*`, `?`, a number or name, a range
//! `a-b`, a step `/n`, or a list of those; or one of `@yearly`, `@annually`, `@monthly`,
//! `@weekly`, `@daily`, `@midnight`, `@hourly`. When both day fields are restricted (neither
//! starts with `*` or `?`), a day matches either of them; otherwise both.

/// Minutes in a day.
const DAY: u64 = 24 * 60;
/// Days walked: four years, so that a leap day and every weekday of every date are seen.
const DAYS: u64 = 4 * 365 + 1;

/// A parsed schedule: the allowed values of each field.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Schedule {
    minutes: Vec<bool>,
    hours: Vec<bool>,
    days: Vec<bool>,
    months: Vec<bool>,
    weekdays: Vec<bool>,
    /// Either day field is unrestricted (`*` or `?`): both must match.
    days_and: bool,
}

/// The longest time between two runs of `schedule`, in minutes; an error says why the text is
/// not a schedule, or that it never runs.
pub(crate) fn longest_gap_minutes(schedule: &str) -> Result<u64, String> {
    let parsed = parse(schedule)?;
    let minutes_of_day: Vec<u64> = (0..24u64)
        .filter(|h| parsed.hours[*h as usize])
        .flat_map(|h| {
            (0..60u64)
                .filter(|m| parsed.minutes[*m as usize])
                .map(move |m| h * 60 + m)
        })
        .collect();
    let mut first: Option<u64> = None;
    let mut last: Option<u64> = None;
    let mut longest = 0;
    // 2024-01-01 was a Monday; the walk starts there, in a leap year.
    let (mut year, mut month, mut day, mut weekday) = (2024u32, 1u32, 1u32, 1u32);
    for index in 0..DAYS {
        let day_match = {
            let by_date = parsed.days[day as usize];
            let by_weekday = parsed.weekdays[weekday as usize];
            if parsed.days_and {
                by_date && by_weekday
            } else {
                by_date || by_weekday
            }
        };
        if day_match && parsed.months[month as usize] {
            for minute in &minutes_of_day {
                let at = index * DAY + minute;
                if let Some(previous) = last {
                    longest = longest.max(at - previous);
                }
                first.get_or_insert(at);
                last = Some(at);
            }
        }
        weekday = (weekday + 1) % 7;
        day += 1;
        if day > days_in(year, month) {
            day = 1;
            month += 1;
            if month > 12 {
                month = 1;
                year += 1;
            }
        }
    }
    match (first, last) {
        (Some(first), Some(last)) if first != last => Ok(longest),
        // One run in four years: at least that long between two.
        (Some(_), Some(_)) => Ok(DAYS * DAY),
        _ => Err("it never runs (no date matches it)".into()),
    }
}

fn days_in(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn parse(schedule: &str) -> Result<Schedule, String> {
    let text = schedule.trim();
    let expanded = match text {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        other if other.starts_with('@') => {
            return Err(format!("`{other}` is not a schedule the CronJob controller knows"));
        }
        other => other,
    };
    let fields: Vec<&str> = expanded.split_whitespace().collect();
    let [minute, hour, day, month, weekday] = fields[..] else {
        return Err(format!(
            "{} fields, not five (minute hour day month weekday)",
            fields.len()
        ));
    };
    const MONTHS: [&str; 12] = [
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    let unrestricted = |f: &str| f.starts_with('*') || f.starts_with('?');
    Ok(Schedule {
        minutes: field("minute", minute, 0, 59, &[])?,
        hours: field("hour", hour, 0, 23, &[])?,
        days: field("day of month", day, 1, 31, &[])?,
        months: field("month", month, 1, 12, &MONTHS)?,
        weekdays: field("day of week", weekday, 0, 6, &WEEKDAYS)?,
        days_and: unrestricted(day) || unrestricted(weekday),
    })
}

/// One field: which values of `min..=max` it allows (indexed by value).
fn field(what: &str, text: &str, min: u32, max: u32, names: &[&str]) -> Result<Vec<bool>, String> {
    let mut allowed = vec![false; max as usize + 1];
    let value = |word: &str| -> Result<u32, String> {
        let named = names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(word))
            .map(|i| i as u32 + min);
        let number = named.or_else(|| word.parse().ok());
        match number {
            Some(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(format!("the {what} `{word}` is not a value from {min} to {max}")),
        }
    };
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("the {what} step `/{step}` is not a positive number"))?;
                (range, step)
            }
            None => (part, 1),
        };
        let (low, high) = if range == "*" || range == "?" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a)?, value(b)?)
        } else {
            let single = value(range)?;
            // `5/10` runs from 5 to the end, as robfig/cron reads it.
            (single, if part.contains('/') { max } else { single })
        };
        if low > high {
            return Err(format!("the {what} range `{range}` runs backwards"));
        }
        for v in (low..=high).step_by(step as usize) {
            allowed[v as usize] = true;
        }
    }
    Ok(allowed)
}

#[cfg(test)]
mod tests {
    use super::longest_gap_minutes as gap;

    #[test]
    fn gaps_of_common_schedules() {
        assert_eq!(gap("0 3 * * *"), Ok(DAY_MINUTES));
        assert_eq!(gap("@daily"), Ok(DAY_MINUTES));
        assert_eq!(gap("@hourly"), Ok(60));
        assert_eq!(gap("*/15 * * * *"), Ok(15));
        assert_eq!(gap("0 1 * * 0"), Ok(7 * DAY_MINUTES));
        assert_eq!(gap("0 1 * * MON-FRI"), Ok(3 * DAY_MINUTES));
        assert_eq!(gap("30 2 1 * *"), Ok(31 * DAY_MINUTES));
        assert_eq!(gap("0 0,12 * * *"), Ok(12 * 60));
        // Both day fields restricted: either matches (the 1st, or any Sunday).
        assert!(gap("0 0 1 * SUN").is_ok_and(|g| g <= 7 * DAY_MINUTES));
        assert_eq!(gap("0 0 29 2 *"), Ok((4 * 365 + 1) * DAY_MINUTES));
    }

    #[test]
    fn what_is_not_a_schedule_says_why() {
        assert!(gap("0 0 30 2 *").is_err_and(|e| e.contains("never runs")));
        assert!(gap("61 * * * *").is_err_and(|e| e.contains("minute `61`")));
        assert!(gap("0 3 * *").is_err_and(|e| e.contains("4 fields")));
        assert!(gap("@every 1h").is_err());
        assert!(gap("0 0 * * 7").is_err());
        assert!(gap("0 5-2 * * *").is_err_and(|e| e.contains("backwards")));
    }

    const DAY_MINUTES: u64 = 24 * 60;
}
