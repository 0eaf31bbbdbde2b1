//! The journal on disk: what is appended is recovered in order; a torn tail is
//! cut, damage before it is refused; applied segments are deleted.

use bytes::Bytes;
use std::path::Path;

use super::*;

fn record(seq: u64, rule: &str, value: &[u8]) -> Record {
    Record {
        seq,
        rule: rule.into(),
        key: Bytes::from(format!("k:{seq}")),
        replace: seq % 3 == 0,
        fields: vec![(Bytes::from("v"), Bytes::copy_from_slice(value))],
    }
}

async fn write(dir: &Path, segment_size: u64, records: &[Record]) {
    let journal = Journal::start(dir, records[0].seq, segment_size, Recovered::default()).unwrap();
    for r in records {
        journal.append(r, Fsync::Always).outcome().await.unwrap();
    }
    journal.stop().await;
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
}

#[test]
fn a_frame_reads_back_and_a_bad_one_reads_as_nothing() {
    let r = Record {
        fields: vec![(Bytes::from("a"), Bytes::from(&b"\x00\xff\r\n"[..]))],
        ..record(7, "rule", b"")
    };
    let bytes = r.encode();
    assert_eq!(frame_at(&bytes), Some((r.clone(), bytes.len())));
    assert_eq!(frame_at(&bytes[..bytes.len() - 1]), None, "cut short");
    let mut flipped = bytes.clone();
    *flipped.last_mut().unwrap() ^= 1;
    assert_eq!(frame_at(&flipped), None, "CRC mismatch");
    let mut huge = bytes.clone();
    huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(frame_at(&huge), None, "a declared length is not allocated");
}

#[tokio::test]
async fn appended_records_are_recovered_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let records: Vec<Record> = (1..=50)
        .map(|i| record(i, if i % 2 == 0 { "a" } else { "b" }, b"x"))
        .collect();
    write(dir.path(), 1024, &records).await;
    assert!(segments(dir.path()).len() > 1, "small segments rotate");
    let recovered = recover(dir.path()).unwrap();
    assert_eq!(recovered.records, records);
    assert_eq!(recovered.last_seq, 50);
}

#[tokio::test]
async fn a_torn_tail_is_cut_and_the_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    let records: Vec<Record> = (1..=5).map(|i| record(i, "a", b"value")).collect();
    write(dir.path(), 1 << 20, &records).await;
    let last = segments(dir.path()).pop().unwrap();
    let good = fs::metadata(&last).unwrap().len();
    let torn = record(6, "a", b"never acknowledged").encode();
    let mut file = OpenOptions::new().append(true).open(&last).unwrap();
    file.write_all(&torn[..torn.len() / 2]).unwrap();
    drop(file);
    let recovered = recover(dir.path()).unwrap();
    assert_eq!(recovered.records, records);
    assert_eq!(
        fs::metadata(&last).unwrap().len(),
        good,
        "the tail is cut from the file"
    );
}

#[tokio::test]
async fn damage_before_the_tail_stops_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let records: Vec<Record> = (1..=40).map(|i| record(i, "a", b"0123456789")).collect();
    write(dir.path(), 512, &records).await;
    let first = segments(dir.path()).remove(0);
    let mut bytes = fs::read(&first).unwrap();
    bytes[10] ^= 0xff;
    fs::write(&first, bytes).unwrap();
    let err = recover(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("is damaged at byte 0") && err.contains("move the file aside"),
        "{err}"
    );
}

#[tokio::test]
async fn applied_segments_are_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::start(dir.path(), 1, 512, Recovered::default()).unwrap();
    for i in 1..=60 {
        journal
            .append(
                &record(i, if i <= 30 { "a" } else { "b" }, b"0123456789"),
                Fsync::No,
            )
            .outcome()
            .await
            .unwrap();
    }
    let before = segments(dir.path()).len();
    assert!(before > 4, "{before} segments");
    journal.applied("a", 30);
    journal.stop().await;
    let after = segments(dir.path()).len();
    assert!(
        after < before && after > 1,
        "segments of 'a' deleted, 'b' kept: {before} → {after}"
    );
    let left = recover(dir.path()).unwrap().records;
    assert!(
        left.iter().all(|r| r.seq > 20),
        "what is left starts near the first unapplied write"
    );
    assert_eq!(left.last().map(|r| r.seq), Some(60));
}
