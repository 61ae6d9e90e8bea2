//! Seeded random streams. Every random choice in the lab draws from a named stream derived from
//! the run's seed, so one choice changing (say, the subset) leaves the others (say, shuffling) as
//! they were, and the same seed gives the same run on every platform.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The random generator the lab uses: portable and reproducible across platforms.
pub type Rng = ChaCha8Rng;

/// The stream called `name` of the run seeded with `seed`.
pub fn stream(seed: u64, name: &str) -> Rng {
    // FNV-1a of the name, mixed into the seed.
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    Rng::seed_from_u64(seed ^ hash.rotate_left(17))
}
