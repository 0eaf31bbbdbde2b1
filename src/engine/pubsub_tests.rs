//! Unit tests of the subscription registry.

use super::*;

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn subscriber(id: u64) -> (Subscriber, mpsc::UnboundedReceiver<Frame>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let handle = Arc::new(ClientHandle::new(id, None, None));
    (Subscriber { tx, handle }, rx)
}

fn word(frame: Frame) -> Bytes {
    match frame {
        Frame::Push(items) => match &items[0] {
            Frame::Bulk(word) => word.clone(),
            _ => Bytes::new(),
        },
        _ => Bytes::new(),
    }
}

#[test]
fn channels_patterns_and_shards_are_apart() {
    let mut ps = PubSub::default();
    let (sub, mut rx) = subscriber(1);
    assert!(ps.add(Kind::Channel, b("news"), &sub));
    assert!(!ps.add(Kind::Channel, b("news"), &sub));
    assert!(ps.add(Kind::Pattern, b("n*"), &sub));
    assert!(ps.add(Kind::Shard, b("news"), &sub));
    assert_eq!(ps.publish(&b("news"), &b("hi")), 2);
    assert_eq!(ps.spublish(&b("news"), &b("s")), 1);
    assert_eq!(ps.spublish(&b("other"), &b("s")), 0);
    let kinds: Vec<Bytes> = std::iter::from_fn(|| rx.try_recv().ok())
        .map(word)
        .collect();
    assert_eq!(kinds, vec![b("message"), b("pmessage"), b("smessage")]);
    assert_eq!(ps.names(Kind::Shard, None), vec![b("news")]);
    assert_eq!(ps.numpat(), 1);
    assert!(sub.handle.pending_push() > 0);
    ps.remove_client(1);
    assert_eq!(
        ps.len(Kind::Channel) + ps.len(Kind::Pattern) + ps.len(Kind::Shard),
        0
    );
}

#[test]
fn gone_receivers_are_not_counted() {
    let mut ps = PubSub::default();
    let (sub, rx) = subscriber(1);
    ps.add(Kind::Channel, b("c"), &sub);
    drop(rx);
    assert_eq!(ps.publish(&b("c"), &b("m")), 0);
    assert!(ps.remove(Kind::Channel, 1, &b("c")));
    assert!(!ps.remove(Kind::Channel, 1, &b("c")));
    assert!(ps.names(Kind::Channel, None).is_empty());
}

#[test]
fn a_subscriber_that_does_not_read_is_dropped() {
    let mut ps = PubSub::default();
    let (slow, _slow_rx) = subscriber(1);
    let (fast, mut fast_rx) = subscriber(2);
    ps.add(Kind::Channel, b("c"), &slow);
    ps.add(Kind::Channel, b("c"), &fast);
    let message = Bytes::from(vec![b'x'; 1 << 20]);
    let mut delivered = 0;
    for _ in 0..40 {
        delivered += ps.publish(&b("c"), &message);
        // The fast one writes everything out as it comes.
        while let Ok(frame) = fast_rx.try_recv() {
            fast.handle.unqueue_push(push_size(&frame));
        }
    }
    assert_eq!(
        ps.count(Kind::Channel, &b("c")),
        1,
        "the slow subscriber is gone"
    );
    assert!(delivered > 40 && delivered < 80, "{delivered}");
    assert!(slow.handle.pending_push() <= OUTPUT_LIMIT + (2 << 20));
    assert_eq!(fast.handle.pending_push(), 0);
}
