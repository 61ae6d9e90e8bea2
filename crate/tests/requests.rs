//! Unlearning requests: the forget set, the blending formula, and Table V's bookkeeping.

mod common;

use overunlearn::attack::request::blend;
use overunlearn::metrics::Shift;
use overunlearn::unlearn::request::forget_set;

#[test]
fn the_forget_set_is_a_seeded_fraction_of_one_class() {
    let train = common::synthetic(4, 50, 4, 1);
    let set = forget_set(&train, 2, 0.1, 7).unwrap();
    assert_eq!(set.len(), 5);
    assert!(set.iter().all(|&i| train.labels[i] == 2));
    assert_eq!(set, forget_set(&train, 2, 0.1, 7).unwrap());
    assert_ne!(set, forget_set(&train, 2, 0.1, 8).unwrap());
    let half = forget_set(&train, 2, 0.5, 7).unwrap();
    assert_eq!(half.len(), 25);
    let e = forget_set(&train, 2, 1.5, 7).unwrap_err().to_string();
    assert!(e.contains("150% is not in (0, 100]"), "{e}");
}

#[test]
fn blending_weights_the_class_b_image_by_the_ratio() {
    let x = [0u8, 100, 200, 255];
    let b = [255u8, 0, 100, 255];
    assert_eq!(blend(&x, &b, 0.0), x);
    assert_eq!(blend(&x, &b, 1.0), b);
    // x' = (1 - r) x + r x_b, rounded: r = 0.3.
    assert_eq!(blend(&x, &b, 0.3), [77, 70, 170, 255]);
}

#[test]
fn the_shift_counts_where_correct_class_a_images_went() {
    let labels = [0, 0, 0, 0, 0, 1, 2];
    let before = [0, 0, 0, 0, 1, 1, 2];
    let after = [0, 3, 3, 2, 0, 0, 2];
    let s = Shift::between(&labels, &before, &after, 0, 3);
    assert_eq!(
        s,
        Shift {
            correct_before: 4,
            kept: 1,
            to_b: 2,
            elsewhere: 1
        }
    );
}
