//! LCS: the longest common subsequence of two strings, its length, or the
//! matching ranges, by the classic dynamic-programming table (as Redis builds it,
//! so the table's size obeys the same limit and ties resolve the same way).

use bytes::Bytes;

use super::{max_string_len, read};
use crate::engine::cmd::args::{self, Args};
use crate::engine::cmd::{CmdError, CmdResult, Ctx};
use crate::engine::value::Value;
use crate::resp::Frame;

/// What the client asked for.
#[derive(Debug, Default)]
struct Options {
    len: bool,
    idx: bool,
    with_match_len: bool,
    min_match_len: u64,
}

/// # Format
/// `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]`
///
/// Missing keys are empty strings; a key of another type is an error of its own.
pub(super) fn lcs(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let a = string_or_empty(cx, &args[1])?;
    let b = string_or_empty(cx, &args[2])?;
    let opts = parse(args)?;
    let table = Table::build(&a, &b, max_string_len(cx))?;
    if opts.len {
        return Ok(Frame::Integer(i64::from(table.get(a.len(), b.len()))));
    }
    let walk = table.walk(&a, &b, &opts);
    if !opts.idx {
        return Ok(Frame::Bulk(Bytes::from(walk.common)));
    }
    Ok(Frame::Map(vec![
        (Frame::bulk("matches"), Frame::Array(walk.matches)),
        (
            Frame::bulk("len"),
            Frame::Integer(i64::from(table.get(a.len(), b.len()))),
        ),
    ]))
}

fn string_or_empty(cx: &mut Ctx<'_>, key: &[u8]) -> Result<Bytes, CmdError> {
    match read(cx, key) {
        Some(Value::Str(s)) => Ok(s.to_bytes()),
        Some(_) => Err(CmdError::msg(
            "ERR The specified keys must contain string values",
        )),
        None => Ok(Bytes::new()),
    }
}

fn parse(args: &[Bytes]) -> Result<Options, CmdError> {
    let mut opts = Options::default();
    let mut rest = Args::new(args, 3);
    while let Some(arg) = rest.next() {
        if args::is(arg, "len") {
            opts.len = true;
        } else if args::is(arg, "idx") {
            opts.idx = true;
        } else if args::is(arg, "withmatchlen") {
            opts.with_match_len = true;
        } else if args::is(arg, "minmatchlen") && !rest.is_empty() {
            opts.min_match_len = rest.int()?.max(0) as u64;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if opts.len && opts.idx {
        return Err(CmdError::msg(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    Ok(opts)
}

/// `cell(i, j)` = length of the LCS of `a[..i]` and `b[..j]`.
struct Table {
    cells: Vec<u32>,
    stride: usize,
}

/// The result of walking the table back from its last cell.
struct Walk {
    common: Vec<u8>,
    matches: Vec<Frame>,
}

impl Table {
    /// Fills the table, refusing one larger than `limit` bytes as Redis does.
    fn build(a: &[u8], b: &[u8], limit: u64) -> Result<Table, CmdError> {
        let cells = (a.len() as u64 + 1).saturating_mul(b.len() as u64 + 1);
        if cells.saturating_mul(4) > limit {
            return Err(CmdError::msg(
                "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
            ));
        }
        let mut table = Table {
            cells: Vec::new(),
            stride: b.len() + 1,
        };
        if table.cells.try_reserve_exact(cells as usize).is_err() {
            return Err(CmdError::msg(
                "ERR Insufficient memory, failed allocating transient memory for LCS",
            ));
        }
        table.cells.resize(cells as usize, 0);
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                let cell = if a[i - 1] == b[j - 1] {
                    table.get(i - 1, j - 1) + 1
                } else {
                    table.get(i - 1, j).max(table.get(i, j - 1))
                };
                table.cells[i * table.stride + j] = cell;
            }
        }
        Ok(table)
    }

    fn get(&self, i: usize, j: usize) -> u32 {
        self.cells[i * self.stride + j]
    }

    /// Walks back from the end, collecting the common bytes and the maximal runs
    /// of consecutive matches (last first), moving up on ties as Redis does.
    fn walk(&self, a: &[u8], b: &[u8], opts: &Options) -> Walk {
        let mut common = vec![0u8; self.get(a.len(), b.len()) as usize];
        let mut matches = Vec::new();
        let (mut i, mut j, mut k) = (a.len(), b.len(), common.len());
        // The current run as (first a index, first b index, length).
        let mut run: Option<(usize, usize, usize)> = None;
        while i > 0 && j > 0 {
            if a[i - 1] == b[j - 1] {
                k -= 1;
                common[k] = a[i - 1];
                i -= 1;
                j -= 1;
                run = Some(run.map_or((i, j, 1), |(_, _, len)| (i, j, len + 1)));
                if i == 0 || j == 0 {
                    self.emit(run.take(), opts, &mut matches);
                }
            } else {
                if self.get(i - 1, j) > self.get(i, j - 1) {
                    i -= 1;
                } else {
                    j -= 1;
                }
                self.emit(run.take(), opts, &mut matches);
            }
        }
        Walk { common, matches }
    }

    fn emit(&self, run: Option<(usize, usize, usize)>, opts: &Options, out: &mut Vec<Frame>) {
        let Some((a_start, b_start, len)) = run else {
            return;
        };
        if !opts.idx || (len as u64) < opts.min_match_len {
            return;
        }
        let range = |start: usize| {
            Frame::Array(vec![
                Frame::Integer(start as i64),
                Frame::Integer((start + len - 1) as i64),
            ])
        };
        let mut entry = vec![range(a_start), range(b_start)];
        if opts.with_match_len {
            entry.push(Frame::Integer(len as i64));
        }
        out.push(Frame::Array(entry));
    }
}
