//! Seeded, class-balanced subsets and validation splits.

mod common;

use overunlearn::data::SubsetSpec;

#[test]
fn balanced_subsets_are_seeded_stratified_and_disjoint() {
    let data = common::synthetic(5, 40, 4, 1);
    let spec = SubsetSpec {
        classes: Vec::new(),
        per_class: Some(20),
        validation: 0.25,
    };
    let a = spec.apply(&data, 7, "train").unwrap();
    assert_eq!(a.main.class_counts(), [15; 5]);
    assert_eq!(a.validation.class_counts(), [5; 5]);
    let again = spec.apply(&data, 7, "train").unwrap();
    assert_eq!(a.main, again.main, "same seed, same subset");
    let other = spec.apply(&data, 8, "train").unwrap();
    assert_ne!(a.main, other.main, "another seed, another subset");
    let other_stream = spec.apply(&data, 7, "test").unwrap();
    assert_ne!(a.main, other_stream.main, "streams are independent");
    // No image is both trained on and validated on.
    let images = |d: &overunlearn::data::Dataset| {
        (0..d.len())
            .map(|i| d.image(i).to_vec())
            .collect::<Vec<_>>()
    };
    let train = images(&a.main);
    assert!(images(&a.validation).iter().all(|v| !train.contains(v)));
}

#[test]
fn chosen_classes_are_kept_and_renumbered_in_order() {
    let data = common::synthetic(5, 10, 4, 2);
    let spec = SubsetSpec {
        classes: vec!["class3".into(), "1".into()],
        per_class: None,
        validation: 0.0,
    };
    let s = spec.apply(&data, 0, "x").unwrap();
    assert_eq!(s.main.class_names, ["class3", "class1"]);
    assert_eq!(s.main.class_counts(), [10, 10]);
    // Image content follows its label: class 3 images are what label 0 now holds.
    let original = (0..data.len()).find(|&i| data.labels[i] == 3).unwrap();
    let kept = (0..s.main.len()).filter(|&i| s.main.labels[i] == 0);
    assert!(
        kept.map(|i| s.main.image(i))
            .any(|img| img == data.image(original))
    );
}

#[test]
fn impossible_subsets_are_refused_with_the_reason() {
    let data = common::synthetic(3, 10, 4, 3);
    let too_many = SubsetSpec {
        per_class: Some(11),
        ..SubsetSpec::default()
    };
    let e = too_many.apply(&data, 0, "x").unwrap_err().to_string();
    assert!(
        e.contains("11 images of class \"class0\" asked for, the split has 10"),
        "{e}"
    );
    let bad_fraction = SubsetSpec {
        validation: 1.5,
        ..SubsetSpec::default()
    };
    let e = bad_fraction.apply(&data, 0, "x").unwrap_err().to_string();
    assert!(e.contains("validation") && e.contains("1.5"), "{e}");
    let unknown = SubsetSpec {
        classes: vec!["zebra".into()],
        ..SubsetSpec::default()
    };
    let e = unknown.apply(&data, 0, "x").unwrap_err().to_string();
    assert!(e.contains("no class \"zebra\""), "{e}");
}
