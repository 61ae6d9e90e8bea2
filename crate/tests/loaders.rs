//! The dataset loaders on small files written in the official layouts.

mod common;

use std::path::Path;

use common::{CIFAR10_NAMES, cifar_records, pixel, write_cifar10, write_tar_gz};
use overunlearn::data::cifar::{self, Cifar100Labels};
use overunlearn::data::{DataSource, DatasetKind, Files, Split};

fn err(result: overunlearn::Result<impl std::fmt::Debug>) -> String {
    result.expect_err("should fail").to_string()
}

#[test]
fn cifar10_round_trips_pixels_labels_and_names() {
    let dir = tempfile::tempdir().unwrap();
    write_cifar10(&dir.path().join("cifar-10-batches-bin"), 2, 15, 12);
    let source = DataSource::Dir(dir.path().to_path_buf());
    let train = DatasetKind::Cifar10.load(&source, Split::Train).unwrap();
    assert_eq!(train.len(), 30);
    assert_eq!(train.class_names, CIFAR10_NAMES);
    for i in [0, 14, 15, 29] {
        assert_eq!(train.labels[i] as usize, i % 10);
        let img = train.image(i);
        assert_eq!(img[0], pixel(i, 0, 0, 0));
        assert_eq!(img[1024 + 32 * 5 + 7], pixel(i, 1, 5, 7));
        assert_eq!(img[2048 + 32 * 31 + 31], pixel(i, 2, 31, 31));
    }
    let test = DatasetKind::Cifar10.load(&source, Split::Test).unwrap();
    assert_eq!(test.len(), 12);
    assert_eq!(test.image(3)[100], pixel(1003, 0, 3, 4));
}

#[test]
fn cifar10_reads_chosen_batches_and_whichever_are_present() {
    let dir = tempfile::tempdir().unwrap();
    write_cifar10(dir.path(), 3, 10, 10);
    std::fs::remove_file(dir.path().join("data_batch_2.bin")).unwrap();
    let files = DataSource::Dir(dir.path().into())
        .open(DatasetKind::Cifar10.layout())
        .unwrap();
    let all = cifar::load_cifar10(&files, Split::Train, None).unwrap();
    assert_eq!(all.len(), 20, "batches 1 and 3 are present");
    assert_eq!(
        all.image(10)[0],
        pixel(20, 0, 0, 0),
        "batch 3 follows batch 1"
    );
    let one = cifar::load_cifar10(&files, Split::Train, Some(&[3])).unwrap();
    assert_eq!(one.len(), 10);
    let missing = err(cifar::load_cifar10(&files, Split::Train, Some(&[2])));
    assert!(
        missing.contains("data_batch_2.bin") && missing.contains("missing file"),
        "{missing}"
    );
    let bad = err(cifar::load_cifar10(&files, Split::Train, Some(&[6])));
    assert!(bad.contains("batches 1 to 5"), "{bad}");
}

#[test]
fn cifar10_malformed_files_are_named_with_their_problem() {
    let dir = tempfile::tempdir().unwrap();
    write_cifar10(dir.path(), 1, 10, 10);
    let source = DataSource::Dir(dir.path().into());
    let batch = dir.path().join("data_batch_1.bin");
    let good = std::fs::read(&batch).unwrap();

    std::fs::write(&batch, &good[..good.len() - 100]).unwrap();
    let e = err(DatasetKind::Cifar10.load(&source, Split::Train));
    assert!(
        e.contains("data_batch_1.bin")
            && e.contains("truncated")
            && e.contains("3073-byte records"),
        "{e}"
    );

    let mut bad_label = good.clone();
    bad_label[3073 * 4] = 10;
    std::fs::write(&batch, &bad_label).unwrap();
    let e = err(DatasetKind::Cifar10.load(&source, Split::Train));
    assert!(
        e.contains("data_batch_1.bin") && e.contains("record 4: label 10 out of range (0 to 9)"),
        "{e}"
    );

    std::fs::write(&batch, []).unwrap();
    let e = err(DatasetKind::Cifar10.load(&source, Split::Train));
    assert!(e.contains("data_batch_1.bin: file is empty"), "{e}");

    std::fs::remove_file(dir.path().join("test_batch.bin")).unwrap();
    let e = err(DatasetKind::Cifar10.load(&source, Split::Test));
    assert!(e.contains("test_batch.bin: missing file"), "{e}");

    std::fs::write(
        dir.path().join("batches.meta.txt"),
        "airplane\nautomobile\n",
    )
    .unwrap();
    let e = err(DatasetKind::Cifar10.load(&source, Split::Test));
    assert!(
        e.contains("batches.meta.txt: expected 10 class names, found 2"),
        "{e}"
    );
}

fn write_cifar100(dir: &Path) -> (Vec<Vec<u8>>, Vec<u8>) {
    std::fs::create_dir_all(dir).unwrap();
    let fine: Vec<String> = (0..100).map(|i| format!("fine{i}")).collect();
    let coarse: Vec<String> = (0..20).map(|i| format!("coarse{i}")).collect();
    std::fs::write(dir.join("fine_label_names.txt"), fine.join("\n")).unwrap();
    std::fs::write(dir.join("coarse_label_names.txt"), coarse.join("\n")).unwrap();
    let labels: Vec<Vec<u8>> = (0..25)
        .map(|i| vec![(i % 20) as u8, (i * 4 % 100) as u8])
        .collect();
    let train = cifar_records(&labels, 0);
    std::fs::write(dir.join("train.bin"), &train).unwrap();
    std::fs::write(dir.join("test.bin"), cifar_records(&labels[..5], 500)).unwrap();
    (labels, train)
}

#[test]
fn cifar100_round_trips_fine_and_coarse_labels() {
    let dir = tempfile::tempdir().unwrap();
    let (labels, _) = write_cifar100(&dir.path().join("cifar-100-binary"));
    let source = DataSource::Dir(dir.path().into());
    let fine = DatasetKind::Cifar100.load(&source, Split::Train).unwrap();
    let coarse = DatasetKind::Cifar100Coarse
        .load(&source, Split::Train)
        .unwrap();
    assert_eq!((fine.num_classes(), coarse.num_classes()), (100, 20));
    assert_eq!(fine.class_names[7], "fine7");
    for (i, label) in labels.iter().enumerate() {
        assert_eq!(coarse.labels[i], u16::from(label[0]));
        assert_eq!(fine.labels[i], u16::from(label[1]));
        assert_eq!(fine.image(i)[1024 * 2 + 40], pixel(i, 2, 1, 8));
    }
    let test = DatasetKind::Cifar100.load(&source, Split::Test).unwrap();
    assert_eq!(test.len(), 5);
    assert_eq!(test.image(4)[0], pixel(504, 0, 0, 0));
}

#[test]
fn cifar100_malformed_files_are_named_with_their_problem() {
    let dir = tempfile::tempdir().unwrap();
    let (_, train) = write_cifar100(dir.path());
    let source = DataSource::Dir(dir.path().into());
    let mut bad = train.clone();
    bad[3074 * 2 + 1] = 100;
    std::fs::write(dir.path().join("train.bin"), &bad).unwrap();
    // A bad fine label is refused even when the coarse labels are asked for.
    let e = err(DatasetKind::Cifar100Coarse.load(&source, Split::Train));
    assert!(
        e.contains("train.bin") && e.contains("record 2: label 100 out of range (0 to 99)"),
        "{e}"
    );
    std::fs::write(dir.path().join("train.bin"), &train[..3074 * 3 + 5]).unwrap();
    let e = err(DatasetKind::Cifar100.load(&source, Split::Train));
    assert!(
        e.contains("train.bin") && e.contains("3 whole records and 5 bytes left over"),
        "{e}"
    );
    std::fs::remove_file(dir.path().join("fine_label_names.txt")).unwrap();
    let e = err(DatasetKind::Cifar100.load(&source, Split::Test));
    assert!(e.contains("fine_label_names.txt: missing file"), "{e}");
}

/// STL-10 stores each channel column-major: byte `c*96*96 + col*96 + row`.
fn stl_image(i: usize) -> Vec<u8> {
    let mut out = vec![0; 3 * 96 * 96];
    for c in 0..3 {
        for col in 0..96 {
            for row in 0..96 {
                out[c * 9216 + col * 96 + row] = pixel(i, c, row, col);
            }
        }
    }
    out
}

fn write_stl10(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let names = [
        "airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck",
    ];
    std::fs::write(dir.join("class_names.txt"), names.join("\n") + "\n").unwrap();
    let x: Vec<u8> = (0..n).flat_map(stl_image).collect();
    let y: Vec<u8> = (0..n).map(|i| (i % 10 + 1) as u8).collect();
    std::fs::write(dir.join("test_X.bin"), x).unwrap();
    std::fs::write(dir.join("test_y.bin"), y).unwrap();
}

#[test]
fn stl10_converts_column_major_images_and_one_based_labels() {
    let dir = tempfile::tempdir().unwrap();
    write_stl10(&dir.path().join("stl10_binary"), 3);
    let test = DatasetKind::Stl10
        .load(&DataSource::Dir(dir.path().into()), Split::Test)
        .unwrap();
    assert_eq!(test.len(), 3);
    assert_eq!(test.labels, [0, 1, 2]);
    assert_eq!(test.class_names[2], "car");
    let img = test.image(2);
    // Row-major CHW after loading: row 5, column 90 of channel 1.
    assert_eq!(img[9216 + 5 * 96 + 90], pixel(2, 1, 5, 90));
    assert_ne!(
        pixel(2, 1, 5, 90),
        pixel(2, 1, 90, 5),
        "the test must tell rows from columns"
    );
}

#[test]
fn stl10_malformed_files_are_named_with_their_problem() {
    let dir = tempfile::tempdir().unwrap();
    write_stl10(dir.path(), 2);
    let source = DataSource::Dir(dir.path().into());
    std::fs::write(dir.path().join("test_y.bin"), [1u8, 11]).unwrap();
    let e = err(DatasetKind::Stl10.load(&source, Split::Test));
    assert!(
        e.contains("test_y.bin: record 1: label 11 out of range (1 to 10)"),
        "{e}"
    );
    std::fs::write(dir.path().join("test_y.bin"), [1u8]).unwrap();
    let e = err(DatasetKind::Stl10.load(&source, Split::Test));
    assert!(e.contains("test_y.bin: 1 labels for 2 images"), "{e}");
    let x = std::fs::read(dir.path().join("test_X.bin")).unwrap();
    std::fs::write(dir.path().join("test_X.bin"), &x[..x.len() - 1]).unwrap();
    let e = err(DatasetKind::Stl10.load(&source, Split::Test));
    assert!(e.contains("test_X.bin: truncated"), "{e}");
    let e = err(DatasetKind::Stl10.load(&source, Split::Train));
    assert!(e.contains("train_X.bin: missing file"), "{e}");
}

#[test]
fn official_tar_gz_archives_are_read_directly() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("src");
    write_cifar10(&folder, 1, 20, 10);
    let files: Vec<(String, Vec<u8>)> = ["batches.meta.txt", "data_batch_1.bin", "test_batch.bin"]
        .iter()
        .map(|n| {
            (
                format!("cifar-10-batches-bin/{n}"),
                std::fs::read(folder.join(n)).unwrap(),
            )
        })
        .collect();
    let data_dir = dir.path().join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    let archive = data_dir.join("cifar-10-binary.tar.gz");
    write_tar_gz(&archive, &files);
    let from_dir = DatasetKind::Cifar10
        .load(&DataSource::Dir(data_dir), Split::Train)
        .unwrap();
    let from_file = DatasetKind::Cifar10
        .load(&DataSource::from_path(&archive), Split::Train)
        .unwrap();
    let direct = DatasetKind::Cifar10
        .load(&DataSource::Dir(folder), Split::Train)
        .unwrap();
    assert_eq!(from_dir, direct);
    assert_eq!(from_file, direct);
    // In memory, as the browser hands over fetched or dropped archives.
    let bytes = std::fs::read(&archive).unwrap();
    let mem = Files::from_tar_gz("dropped.tar.gz", &bytes).unwrap();
    assert_eq!(mem.len(), 3);
    assert_eq!(
        DatasetKind::Cifar10
            .load(&DataSource::Files(mem.clone()), Split::Test)
            .unwrap()
            .len(),
        10
    );
    // A member missing from the archive is named with the archive.
    let e = err(DatasetKind::Stl10.load(&DataSource::Files(mem), Split::Test));
    assert!(
        e.contains("dropped.tar.gz!class_names.txt: missing file"),
        "{e}"
    );
    // A damaged archive is named.
    let broken = dir.path().join("broken.tar.gz");
    std::fs::write(&broken, &bytes[..bytes.len() / 2]).unwrap();
    let e = err(DatasetKind::Cifar10.load(&DataSource::from_path(&broken), Split::Train));
    assert!(
        e.contains("broken.tar.gz") && e.contains("not a readable .tar.gz archive"),
        "{e}"
    );
}

#[test]
fn a_missing_data_directory_says_how_to_set_it() {
    let e =
        err(DatasetKind::Cifar10.load(&DataSource::Dir("/nonexistent/data".into()), Split::Test));
    assert!(
        e.contains("/nonexistent/data") && e.contains("OVERUNLEARN_DATA"),
        "{e}"
    );
}

#[test]
fn cifar100_coarse_test_split_loads_from_opened_files() {
    // The loader functions are usable directly, e.g. by the browser host with in-memory files.
    let dir = tempfile::tempdir().unwrap();
    write_cifar100(dir.path());
    let files = DataSource::Dir(dir.path().into())
        .open(DatasetKind::Cifar100.layout())
        .unwrap();
    let coarse = cifar::load_cifar100(&files, Split::Test, Cifar100Labels::Coarse).unwrap();
    assert_eq!(coarse.num_classes(), 20);
}
