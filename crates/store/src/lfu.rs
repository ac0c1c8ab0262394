//! Redis's LFU access counter, kept in an entry's 24-bit access field
//! when an LFU policy is selected: the high 16 bits are the minute (mod
//! 2^16) the counter was last decayed, the low 8 bits a logarithmic
//! counter that starts at 5, grows with probability 1/((c-5)·factor+1) per
//! access and loses one per `lfu-decay-time` minutes idle.

/// Counter value of a new key, so it is not evicted before it had a chance.
pub const INIT: u32 = 5;

fn minutes(now_ms: u64) -> u32 {
    ((now_ms / 60_000) & 0xffff) as u32
}

/// The access field of a key created now.
pub fn init(now_ms: u64) -> u32 {
    (minutes(now_ms) << 8) | INIT
}

/// The counter after decay for the minutes since it was last touched
/// (`OBJECT FREQ` reports this).
pub fn decayed(access: u32, now_ms: u64, decay_minutes: u64) -> u32 {
    let last = (access >> 8) & 0xffff;
    let counter = access & 0xff;
    let now = minutes(now_ms);
    let elapsed = if now >= last {
        now - last
    } else {
        0xffff - last + now
    };
    let periods = u64::from(elapsed).checked_div(decay_minutes).unwrap_or(0);
    counter.saturating_sub(periods.min(255) as u32)
}

/// The access field after one access; `random` is uniform in [0, 1).
pub fn touch(access: u32, now_ms: u64, log_factor: u64, decay_minutes: u64, random: f64) -> u32 {
    let mut counter = decayed(access, now_ms, decay_minutes);
    if counter < 255 {
        let base = counter.saturating_sub(INIT) as f64;
        if random < 1.0 / (base * log_factor as f64 + 1.0) {
            counter += 1;
        }
    }
    (minutes(now_ms) << 8) | counter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_grows_logarithmically_and_decays() {
        let now = 10 * 60_000;
        let mut access = init(now);
        assert_eq!(decayed(access, now, 1), INIT);
        // Always-succeeding draws: every access counts until 255.
        for _ in 0..300 {
            access = touch(access, now, 10, 1, 0.0);
        }
        assert_eq!(access & 0xff, 255);
        // With draws of 0.5, growth stops once 1/((c-5)*10+1) <= 0.5, i.e. at c = 6.
        let mut slow = init(now);
        for _ in 0..100 {
            slow = touch(slow, now, 10, 1, 0.5);
        }
        assert_eq!(slow & 0xff, 6);
        // Three idle minutes with a decay time of one minute take three off.
        assert_eq!(decayed(access, now + 3 * 60_000, 1), 252);
        assert_eq!(decayed(access, now + 3 * 60_000, 0), 255);
    }
}
