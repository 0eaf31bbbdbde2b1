//! Pub/sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB.
//!
//! Subscriptions live in the engine's registry ([`crate::engine::pubsub`]), under
//! its own lock; the client keeps its own lists for counts and CLIENT LIST.
//! Confirmations are push frames, one per channel: `>3` in RESP3, `*3` arrays in
//! RESP2, as Redis sends them. Which commands a subscribed RESP2 client may send
//! is checked before dispatch (`session::admit`).

use bytes::Bytes;

use super::{CmdError, CmdResult, Ctx, Handler};
use crate::engine::pubsub::{Kind, Subscriber};
use crate::resp::Frame;

/// This family's commands.
pub(super) const COMMANDS: &[(&str, Handler)] = &[
    ("subscribe", subscribe),
    ("psubscribe", psubscribe),
    ("ssubscribe", ssubscribe),
    ("unsubscribe", unsubscribe),
    ("punsubscribe", punsubscribe),
    ("sunsubscribe", sunsubscribe),
    ("publish", publish),
    ("spublish", spublish),
    ("pubsub", pubsub),
];

/// Our PUBSUB HELP text.
const HELP: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Channels with at least one subscriber, optionally those matching <pattern>.",
    "NUMPAT",
    "    How many distinct patterns are subscribed to.",
    "NUMSUB [<channel> ...]",
    "    Each channel with its number of subscribers (patterns not counted).",
    "SHARDCHANNELS [<pattern>]",
    "    Shard channels with at least one subscriber, optionally matching <pattern>.",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Each shard channel with its number of subscribers.",
    "HELP",
    "    This text.",
];

/// # Format
/// `SUBSCRIBE channel [channel ...]`
fn subscribe(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    add(cx, &args[1..], Kind::Channel)
}

/// # Format
/// `PSUBSCRIBE pattern [pattern ...]`
fn psubscribe(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    add(cx, &args[1..], Kind::Pattern)
}

/// # Format
/// `SSUBSCRIBE shardchannel [shardchannel ...]`
fn ssubscribe(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    add(cx, &args[1..], Kind::Shard)
}

/// # Format
/// `UNSUBSCRIBE [channel [channel ...]]`
fn unsubscribe(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    remove(cx, &args[1..], Kind::Channel)
}

/// # Format
/// `PUNSUBSCRIBE [pattern [pattern ...]]`
fn punsubscribe(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    remove(cx, &args[1..], Kind::Pattern)
}

/// # Format
/// `SUNSUBSCRIBE [shardchannel [shardchannel ...]]`
fn sunsubscribe(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    remove(cx, &args[1..], Kind::Shard)
}

/// # Format
/// `PUBLISH channel message` → the number of clients that received it.
fn publish(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    // Copies, so queued messages do not pin the publisher's read buffer.
    let (channel, message) = (owned(&args[1]), owned(&args[2]));
    Ok(Frame::Integer(
        cx.shared.pubsub.lock().publish(&channel, &message) as i64,
    ))
}

/// # Format
/// `SPUBLISH shardchannel message` → the number of clients that received it.
fn spublish(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (channel, message) = (owned(&args[1]), owned(&args[2]));
    Ok(Frame::Integer(
        cx.shared.pubsub.lock().spublish(&channel, &message) as i64,
    ))
}

/// # Format
/// `PUBSUB CHANNELS [pattern]` · `PUBSUB NUMSUB [channel ...]` · `PUBSUB NUMPAT` ·
/// `PUBSUB SHARDCHANNELS [pattern]` · `PUBSUB SHARDNUMSUB [shardchannel ...]` ·
/// `PUBSUB HELP`
fn pubsub(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let sub = args[1].to_ascii_lowercase();
    let registry = cx.shared.pubsub.lock();
    match (sub.as_slice(), args.len()) {
        (b"channels", 2 | 3) => Ok(Frame::bulks(
            registry.names(Kind::Channel, args.get(2).map(|p| &p[..])),
        )),
        (b"shardchannels", 2 | 3) => Ok(Frame::bulks(
            registry.names(Kind::Shard, args.get(2).map(|p| &p[..])),
        )),
        (b"numpat", 2) => Ok(Frame::Integer(registry.numpat() as i64)),
        (b"numsub", _) => Ok(counts(&args[2..], |c| registry.count(Kind::Channel, c))),
        (b"shardnumsub", _) => Ok(counts(&args[2..], |c| registry.count(Kind::Shard, c))),
        (b"help", 2) => Ok(Frame::Array(
            HELP.iter().map(|line| Frame::simple(line)).collect(),
        )),
        _ => Err(CmdError::msg(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
            String::from_utf8_lossy(&args[1])
        ))),
    }
}

/// `[name1, count1, name2, count2, …]`, a flat array in both protocols.
fn counts(names: &[Bytes], count: impl Fn(&Bytes) -> usize) -> Frame {
    let mut out = Vec::with_capacity(names.len() * 2);
    for name in names {
        out.push(Frame::Bulk(name.clone()));
        out.push(Frame::Integer(count(name) as i64));
    }
    Frame::Array(out)
}

/// Subscribes to each name, one confirmation per name (even a repeated one).
fn add(cx: &mut Ctx<'_>, names: &[Bytes], kind: Kind) -> CmdResult {
    let shared = cx.shared;
    let subscriber = Subscriber::of(cx.client);
    let mut registry = shared.pubsub.lock();
    let mut replies = Vec::with_capacity(names.len());
    for name in names {
        let name = owned(name);
        if registry.add(kind, name.clone(), &subscriber) {
            own_list(cx, kind).push(name.clone());
        }
        replies.push(confirmation(
            kind.subscribe_word(),
            Some(name),
            count(cx, kind),
        ));
    }
    drop(registry);
    Ok(emit_all(cx, replies))
}

/// Unsubscribes from each name, or from every name of the kind when none is given.
fn remove(cx: &mut Ctx<'_>, names: &[Bytes], kind: Kind) -> CmdResult {
    let names = if names.is_empty() {
        own_list(cx, kind).clone()
    } else {
        names.to_vec()
    };
    if names.is_empty() {
        return Ok(confirmation(kind.unsubscribe_word(), None, count(cx, kind)));
    }
    let shared = cx.shared;
    let mut registry = shared.pubsub.lock();
    let mut replies = Vec::with_capacity(names.len());
    for name in names {
        if registry.remove(kind, cx.client.id, &name) {
            own_list(cx, kind).retain(|n| *n != name);
        }
        replies.push(confirmation(
            kind.unsubscribe_word(),
            Some(name),
            count(cx, kind),
        ));
    }
    drop(registry);
    Ok(emit_all(cx, replies))
}

/// Emits every reply but the last, which is returned.
fn emit_all(cx: &mut Ctx<'_>, mut replies: Vec<Frame>) -> Frame {
    let last = replies.pop().unwrap_or(Frame::NullArray);
    cx.emitted.extend(replies);
    last
}

/// The client's own list of names of a kind.
fn own_list<'c>(cx: &'c mut Ctx<'_>, kind: Kind) -> &'c mut Vec<Bytes> {
    match kind {
        Kind::Channel => &mut cx.client.channels,
        Kind::Pattern => &mut cx.client.patterns,
        Kind::Shard => &mut cx.client.shard_channels,
    }
}

/// The count a confirmation carries: channels and patterns together; shard
/// channels on their own.
fn count(cx: &Ctx<'_>, kind: Kind) -> usize {
    match kind {
        Kind::Channel | Kind::Pattern => cx.client.subscription_count(),
        Kind::Shard => cx.client.shard_channels.len(),
    }
}

/// `[word, name or null, count]` as a push.
fn confirmation(word: &'static str, name: Option<Bytes>, count: usize) -> Frame {
    Frame::Push(vec![
        Frame::Bulk(Bytes::from_static(word.as_bytes())),
        name.map_or(Frame::Null, Frame::Bulk),
        Frame::Integer(count as i64),
    ])
}

fn owned(bytes: &Bytes) -> Bytes {
    Bytes::copy_from_slice(bytes)
}
