//! Properties across the codec: what the encoder writes the decoder reads
//! back, however the bytes are split, and no input makes the decoder panic
//! or reserve more than the input could fill.

use super::*;
use bytes::BytesMut;
use proptest::collection::vec;
use proptest::prelude::*;

fn text() -> impl Strategy<Value = Bytes> {
    "[^\r\n]{0,12}".prop_map(Bytes::from)
}

fn blob(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn leaf() -> impl Strategy<Value = Frame> {
    prop_oneof![
        text().prop_map(Frame::Simple),
        text().prop_map(Frame::Error),
        any::<i64>().prop_map(Frame::Integer),
        blob(40).prop_map(Frame::Bulk),
        Just(Frame::Null),
        Just(Frame::NullArray),
        any::<f64>()
            .prop_filter("NaN never equals itself", |v| !v.is_nan())
            .prop_map(Frame::Double),
        any::<bool>().prop_map(Frame::Boolean),
        "-?[0-9]{1,40}".prop_map(|n| Frame::BigNumber(Bytes::from(n))),
        (any::<[u8; 3]>(), blob(20)).prop_map(|(format, text)| Frame::Verbatim { format, text }),
    ]
}

fn frame() -> impl Strategy<Value = Frame> {
    leaf().prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Frame::Array),
            vec(inner.clone(), 0..6).prop_map(Frame::Set),
            vec(inner.clone(), 0..6).prop_map(Frame::Push),
            vec((inner.clone(), inner), 0..4).prop_map(Frame::Map),
        ]
    })
}

/// What a RESP3 peer reads back: both nulls are `_`.
fn as_resp3(frame: Frame) -> Frame {
    match frame {
        Frame::NullArray => Frame::Null,
        Frame::Array(items) => Frame::Array(items.into_iter().map(as_resp3).collect()),
        Frame::Set(items) => Frame::Set(items.into_iter().map(as_resp3).collect()),
        Frame::Push(items) => Frame::Push(items.into_iter().map(as_resp3).collect()),
        Frame::Map(pairs) => Frame::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (as_resp3(k), as_resp3(v)))
                .collect(),
        ),
        other => other,
    }
}

/// What a RESP2 peer reads back: RESP3 kinds in their downgraded form.
fn as_resp2(frame: Frame) -> Frame {
    let all = |items: Vec<Frame>| Frame::Array(items.into_iter().map(as_resp2).collect());
    match frame {
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => all(items),
        Frame::Map(pairs) => all(pairs.into_iter().flat_map(|(k, v)| [k, v]).collect()),
        Frame::Double(v) => {
            let mut text = Vec::new();
            format_double(v, &mut text);
            Frame::Bulk(text.into())
        }
        Frame::Boolean(b) => Frame::Integer(i64::from(b)),
        Frame::BigNumber(text) | Frame::Verbatim { text, .. } => Frame::Bulk(text),
        other => other,
    }
}

/// Decodes every frame in `input`, fed in chunks of the given sizes.
fn decode_all(input: &[u8], chunks: &[usize]) -> Vec<Frame> {
    let mut decoder = Decoder::default();
    let (mut buf, mut frames, mut fed) = (BytesMut::new(), Vec::new(), 0);
    for &len in chunks.iter().chain(std::iter::once(&input.len())) {
        let end = (fed + len).min(input.len());
        buf.extend_from_slice(&input[fed..end]);
        fed = end;
        while let Some(frame) = decoder.decode(&mut buf).unwrap() {
            frames.push(frame);
        }
    }
    assert!(buf.is_empty());
    frames
}

/// A request: its args, and whether to send it inline (only plain words can be).
fn request() -> impl Strategy<Value = (Vec<Bytes>, bool)> {
    prop_oneof![
        (
            vec("[a-zA-Z0-9]{1,8}".prop_map(Bytes::from), 1..5),
            any::<bool>()
        ),
        (vec(blob(30), 1..5), Just(false)),
    ]
}

fn feed_requests(input: &[u8], chunks: &[usize]) -> Vec<Vec<Bytes>> {
    let mut decoder = Decoder::default();
    let (mut buf, mut out, mut fed) = (BytesMut::new(), Vec::new(), 0);
    for &len in chunks.iter().chain(std::iter::once(&input.len())) {
        let end = (fed + len).min(input.len());
        buf.extend_from_slice(&input[fed..end]);
        fed = end;
        while let Some(request) = decoder.decode_request(&mut buf).unwrap() {
            out.push(request.args);
        }
    }
    out
}

/// Bytes that look enough like RESP to reach deep into the decoder.
fn resp_ish() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(b"\r\n".to_vec()),
        prop::sample::select(b"*$+-:,#_(=!~>%|\"' \\x".to_vec()).prop_map(|c| vec![c]),
        (-3i64..1_000_000_000_000).prop_map(|n| n.to_string().into_bytes()),
        vec(any::<u8>(), 0..6),
    ];
    vec(token, 0..40).prop_map(|tokens| tokens.concat())
}

proptest! {
    #[test]
    fn resp3_round_trips(frames in vec(frame(), 1..4), chunks in vec(1usize..16, 0..40)) {
        let mut out = BytesMut::new();
        for frame in &frames {
            encode(frame, Protocol::Resp3, &mut out);
        }
        let want: Vec<Frame> = frames.into_iter().map(as_resp3).collect();
        prop_assert_eq!(decode_all(&out, &chunks), want);
    }

    #[test]
    fn resp2_round_trips_to_the_downgraded_frame(frame in frame()) {
        let mut out = BytesMut::new();
        encode(&frame, Protocol::Resp2, &mut out);
        prop_assert_eq!(decode_all(&out, &[]), vec![as_resp2(frame)]);
    }

    #[test]
    fn requests_survive_any_chunking(requests in vec(request(), 1..8), chunks in vec(1usize..24, 0..60)) {
        let mut input = BytesMut::new();
        for (args, inline) in &requests {
            if *inline {
                input.extend_from_slice(&args.join(&b' ')[..]);
                input.extend_from_slice(b"\r\n");
            } else {
                encode(&Frame::bulks(args.iter().cloned()), Protocol::Resp2, &mut input);
            }
        }
        let want: Vec<Vec<Bytes>> = requests.into_iter().map(|(args, _)| args).collect();
        prop_assert_eq!(feed_requests(&input, &chunks), want);
    }

    #[test]
    fn arbitrary_bytes_never_panic_or_overreserve(
        input in prop_oneof![vec(any::<u8>(), 0..200), resp_ish()],
        split in 0usize..200,
    ) {
        let split = split.min(input.len());
        let limits = Limits { max_depth: 8, ..Limits::default() };
        let (mut requests, mut replies) = (Decoder::new(limits.clone()), Decoder::new(limits));
        let (mut a, mut b) = (BytesMut::new(), BytesMut::new());
        for part in [&input[..split], &input[split..]] {
            a.extend_from_slice(part);
            b.extend_from_slice(part);
            while let Ok(Some(_)) = requests.decode_request(&mut a) {}
            while let Ok(Some(_)) = replies.decode(&mut b) {}
            // Vec's smallest allocation is 4 elements.
            prop_assert!(requests.reserved() <= input.len().max(4));
            prop_assert!(replies.reserved() <= input.len().max(4) * 8);
        }
    }
}
