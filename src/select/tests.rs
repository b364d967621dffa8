use super::*;
use crate::event::Timestamp;

fn sel(s: &str) -> Selection {
    parse_expr(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

fn err(s: &str) -> String {
    match parse_expr(s) {
        Ok(sel) => panic!("{s:?} parsed: {sel:?}"),
        Err(e) => e,
    }
}

/// A frame row of connection 1, c2s, with this opcode and payload.
fn frame<'a>(opcode: u8, payload: &'a [u8]) -> Row<'a> {
    Row {
        opcode: Some(opcode),
        len: Some(payload.len() as u64),
        payload: Some(payload),
        ..Row::bare(RowKind::Frame, Some(1), Some(Dir::C2S))
    }
}

fn violation(rule: &'static str, dir: Option<Dir>) -> Row<'static> {
    Row {
        rule: Some(rule),
        ..Row::bare(RowKind::Violation, Some(1), dir)
    }
}

#[test]
fn opcodes_by_name_and_number() {
    assert_eq!(parse_opcode("TEXT"), Ok(1));
    assert_eq!(parse_opcode("pong"), Ok(10));
    assert_eq!(parse_opcode("0xb"), Ok(11));
    assert_eq!(parse_opcode("3"), Ok(3));
    assert!(parse_opcode("16").is_err());
    assert!(parse_opcode("hello").unwrap_err().contains("unknown opcode"));
    assert_eq!(parse_dir("s2c"), Ok(Dir::S2C));
    assert!(parse_dir("up").is_err());
}

#[test]
fn empty_expression_selects_everything() {
    for s in ["", "   "] {
        let s = sel(s);
        assert!(s.is_empty());
        assert!(s.matches_row(&frame(1, b"x")));
        assert!(s.matches_row(&Row::bare(RowKind::Other, None, None)));
    }
}

#[test]
fn conn_takes_one_or_a_list() {
    let s = sel("conn:1");
    assert_eq!(s.conns, vec![1]);
    assert!(s.grep.is_none(), "conn:1 is a term, not payload text");
    assert_eq!(sel("conn:1,4,7").conns, vec![1, 4, 7]);
    let s = sel("conn:4,7");
    assert!(!s.matches_row(&frame(1, b"")));
    assert!(s.matches(7, Dir::S2C, 1, b""));
    // A capture-wide diagnostic belongs to no connection.
    assert!(!s.matches_row(&Row::bare(RowKind::Diagnostic, None, None)));
    assert!(err("conn:x").contains("conn:1,4,7"));
    assert!(err("conn:").contains("needs a value"));
    assert!(err("conn:,").contains("needs a value"));
}

#[test]
fn dir_and_rows_without_a_direction() {
    let s = sel("dir:s2c");
    assert_eq!(s.dir, Some(Dir::S2C));
    assert!(!s.matches_row(&frame(1, b"")));
    assert!(s.matches(1, Dir::S2C, 1, b""));
    // A handshake or connection record belongs to both sides.
    assert!(s.matches_row(&Row::bare(RowKind::Handshake, Some(1), None)));
    assert!(s.matches_row(&Row::bare(RowKind::Other, Some(1), None)));
    assert!(!s.matches_row(&violation("client-frame-unmasked", Some(Dir::C2S))));
    assert_eq!(sel("DIR:C2S").dir, Some(Dir::C2S));
    assert!(err("dir:up").contains("c2s or s2c"));
}

#[test]
fn op_and_opcode_alias() {
    assert_eq!(sel("op:text,binary").opcodes, vec![1, 2]);
    assert_eq!(sel("opcode:ping,10,0x8").opcodes, vec![9, 10, 8]);
    let s = sel("op:text");
    assert!(s.matches_row(&frame(1, b"")));
    assert!(!s.matches_row(&frame(2, b"")));
    assert!(!s.matches_row(&Row::bare(RowKind::Gap, Some(1), Some(Dir::C2S))));
    assert!(!s.matches_row(&Row::bare(RowKind::Handshake, Some(1), None)));
    let e = err("op:txt");
    assert!(e.starts_with("op: unknown opcode `txt`"), "{e}");
    assert!(e.contains("text, binary, close, ping, pong, continuation"), "{e}");
}

#[test]
fn is_kinds() {
    let gap = Row::bare(RowKind::Gap, Some(1), Some(Dir::C2S));
    let hs = Row::bare(RowKind::Handshake, Some(1), None);
    let diag = Row {
        rule: Some("ws-resync"),
        ..Row::bare(RowKind::Diagnostic, Some(1), None)
    };
    let v = violation("reserved-opcode", Some(Dir::S2C));
    let rows = [frame(1, b"a"), frame(9, b"p"), gap, hs, diag, v];
    let which = |s: &str| -> Vec<usize> {
        let s = sel(s);
        (0..rows.len()).filter(|&i| s.matches_row(&rows[i])).collect()
    };
    assert_eq!(which("is:violation"), vec![5]);
    assert_eq!(which("is:gap"), vec![2]);
    assert_eq!(which("is:handshake"), vec![3]);
    assert_eq!(which("is:diagnostic"), vec![4]);
    assert_eq!(which("is:control"), vec![1]);
    assert_eq!(which("is:data"), vec![0]);
    // Values in one term are alternatives; terms are all required.
    assert_eq!(which("is:gap,violation"), vec![2, 5]);
    assert_eq!(which("is:gap is:violation"), Vec::<usize>::new());
    assert!(
        err("is:frame")
            .contains("violation, gap, handshake, diagnostic, finding, control, data, compressed, truncated")
    );
}

#[test]
fn is_compressed_and_truncated_from_events() {
    let f = FrameEvent {
        conn: 2,
        session: Default::default(),
        packets: crate::event::PacketSpan::one(1),
        ts: Timestamp::new(0, 0),
        dir: Dir::S2C,
        fin: true,
        rsv: 4,
        opcode: 1,
        masked: false,
        mask_key: None,
        len: 10,
        len_bits: 7,
        header_len: 2,
        offset: 0,
        payload: b"abc".to_vec(),
        truncated: false,
        close_code: None,
        close_reason: None,
        rtt: None,
        header_captured: None,
        header_bytes: None,
    };
    assert!(sel("is:compressed").matches_frame(&f));
    // Declared 10 bytes, 3 kept.
    assert!(sel("is:truncated").matches_frame(&f));
    assert!(
        sel("len:10").matches_frame(&f),
        "a frame's length is its declared one"
    );
    let plain = FrameEvent {
        rsv: 0,
        payload: vec![0; 10],
        ..f
    };
    assert!(!sel("is:compressed").matches_frame(&plain));
    assert!(!sel("is:truncated").matches_frame(&plain));
}

#[test]
fn len_comparisons_and_suffixes() {
    let row = |n: usize| {
        let len = n as u64;
        Row {
            len: Some(len),
            ..frame(2, b"")
        }
    };
    let hits = |s: &str| -> Vec<usize> {
        let s = sel(s);
        [99, 100, 101]
            .into_iter()
            .filter(|&n| s.matches_row(&row(n)))
            .collect()
    };
    assert_eq!(hits("len>100"), vec![101]);
    assert_eq!(hits("len>=100"), vec![100, 101]);
    assert_eq!(hits("len<100"), vec![99]);
    assert_eq!(hits("len<=100"), vec![99, 100]);
    assert_eq!(hits("len:100"), vec![100]);
    assert_eq!(hits("len=100"), vec![100]);
    assert_eq!(hits("len>99 len<101"), vec![100]);
    let one = |s: &str| match sel(s).terms.as_slice() {
        [Term::Len(cmp, n)] => (*cmp, *n),
        t => panic!("{s}: {t:?}"),
    };
    assert_eq!(one("len>4k"), (Cmp::Gt, 4096));
    assert_eq!(one("len<2K"), (Cmp::Lt, 2048));
    assert_eq!(one("LEN>=1M"), (Cmp::Ge, 1 << 20));
    for bad in [
        "len>",
        "len>x",
        "len>4kb",
        "len>-1",
        "len<1.5k",
        "len>99999999999999999999",
    ] {
        assert!(err(bad).contains("len>4k"), "{bad}");
    }
    // Rows without a length (a gap) are not selected by a length.
    assert!(!sel("len<100").matches_row(&Row::bare(RowKind::Gap, Some(1), Some(Dir::C2S))));
}

#[test]
fn rules_of_violations_and_diagnostics() {
    let s = sel("rule:client-frame-unmasked");
    assert!(s.matches_row(&violation("client-frame-unmasked", Some(Dir::C2S))));
    assert!(!s.matches_row(&violation("reserved-opcode", Some(Dir::C2S))));
    assert!(!s.matches_row(&frame(1, b"client-frame-unmasked")));
    let d = Row {
        rule: Some("ws-resync"),
        ..Row::bare(RowKind::Diagnostic, None, None)
    };
    assert!(sel("rule:ws-resync,reserved-opcode").matches_row(&d));
    // Every registered name is accepted.
    for r in crate::ws::rules::ALL {
        sel(&format!("rule:{r}"));
    }
    for (code, _) in crate::diag::ALL {
        sel(&format!("rule:{code}"));
    }
    let e = err("rule:unmasked-client-frame");
    assert!(e.contains("did you mean client-frame-unmasked?"), "{e}");
    let e = err("rule:bogus");
    assert!(
        e.contains("accept-mismatch") && e.contains("data-after-close"),
        "{e}"
    );
}

#[test]
fn unknown_keys_are_errors_listing_the_keys() {
    let e = err("foo:1");
    assert!(e.starts_with("unknown key \"foo:\""), "{e}");
    for key in ["conn:", "dir:", "op:", "opcode:", "is:", "len", "rule:"] {
        assert!(e.contains(key), "{e} lacks {key}");
    }
    assert!(e.contains("\\foo:1") && e.contains("\"foo:1\""), "{e}");
    // A typo of a key is an error too, not a payload search.
    assert!(err("dri:s2c").contains("unknown key \"dri:\""));
}

#[test]
fn free_text_is_one_smart_case_regex() {
    let s = sel("hello   world");
    assert_eq!(s.grep.as_ref().map(|r| r.as_str()), Some("hello world"));
    assert!(s.matches_row(&frame(1, b"say HELLO WORLD")));
    // A capital letter makes it case-sensitive.
    let s = sel("Hello");
    assert!(s.matches_row(&frame(1, b"Hello")));
    assert!(!s.matches_row(&frame(1, b"hello")));
    // Terms anywhere; the words around them join.
    let s = sel("foo dir:c2s b.r");
    assert_eq!(s.grep.as_ref().map(|r| r.as_str()), Some("foo b.r"));
    assert_eq!(s.dir, Some(Dir::C2S));
    // Lossy UTF-8.
    assert!(sel("a.b").matches_row(&frame(2, b"a\xffb")));
    assert!(err("(unclosed").starts_with("bad regex"));
    // Colons that are no key: times, URLs, regex groups.
    for t in ["12:30", "https://example.com/x", "(?:ab)", ":x"] {
        assert!(sel(t).grep.is_some(), "{t}");
    }
    assert_eq!(
        smart_case_regex("abc").map(|r| r.is_match("ABC")).ok(),
        Some(true)
    );
    assert_eq!(
        smart_case_regex("aBc").map(|r| r.is_match("ABC")).ok(),
        Some(false)
    );
}

#[test]
fn quotes_and_backslash_make_text() {
    let s = sel("\"foo:1\"");
    assert_eq!(s.grep.as_ref().map(|r| r.as_str()), Some("foo:1"));
    assert!(s.conns.is_empty());
    let s = sel("\"cmd:ping  x\" conn:1");
    assert_eq!(s.grep.as_ref().map(|r| r.as_str()), Some("cmd:ping  x"));
    assert_eq!(s.conns, vec![1]);
    assert_eq!(sel("\\conn:1").grep.as_ref().map(|r| r.as_str()), Some("conn:1"));
    assert_eq!(sel("\\len>5").grep.as_ref().map(|r| r.as_str()), Some("len>5"));
    // A backslash before anything else is the regex's.
    assert_eq!(sel("\\d+ x").grep.as_ref().map(|r| r.as_str()), Some("\\d+ x"));
    assert!(sel("\\bping\\b").matches_row(&frame(1, b"a ping b")));
    assert!(err("\"open").contains("unclosed quote"));
}

#[test]
fn regex_needs_a_payload() {
    let s = sel("bye");
    assert!(s.needs_payload());
    assert!(!sel("conn:1 op:text len>3").needs_payload());
    // Violations, gaps, handshakes, connection records have no payload.
    assert!(!s.matches_row(&violation("data-after-close", None)));
    assert!(!s.matches_row_meta(&violation("data-after-close", None)));
    assert!(!s.matches_row(&Row::bare(RowKind::Other, Some(1), None)));
    // A frame whose payload is not at hand: the metadata says maybe, the row no.
    let no_payload = Row {
        payload: None,
        ..frame(1, b"")
    };
    assert!(s.matches_row_meta(&no_payload));
    assert!(!s.matches_row(&no_payload));
    assert!(s.matches_payload(b"good BYE"));
    assert!(!s.matches_payload(b"hello"));
}

#[test]
fn context_rows_follow_scope_terms_only() {
    let other = Row::bare(RowKind::Other, Some(1), None);
    assert!(sel("conn:1 dir:s2c").matches_row(&other));
    assert!(!sel("conn:2").matches_row(&other));
    for s in ["op:text", "is:violation", "len>0", "rule:ws-resync", "x"] {
        assert!(!sel(s).matches_row(&other), "{s}");
    }
}

#[test]
fn flags_and_expression_are_both_required() {
    let flags = Selection {
        conns: vec![1],
        ..Selection::default()
    };
    let both = flags.clone().and(sel("conn:2"));
    assert!(!both.matches_row(&frame(1, b"")), "conn 1 and conn 2: nothing");
    assert!(!both.matches_conn(1) && !both.matches_conn(2));
    let both = flags.and(sel("conn:1,2 op:text hi"));
    assert!(both.matches_row(&frame(1, b"hi")));
    assert!(!both.matches_row(&frame(1, b"ho")));
    assert!(!both.matches_row(&frame(2, b"hi")));
}

#[test]
fn looks_inside_and_names_control_frames() {
    assert!(!sel("conn:1,2").looks_inside());
    assert!(sel("conn:1 len>1").looks_inside());
    assert!(sel("op:ping").names_control_frames());
    assert!(sel("op:text,close").names_control_frames());
    assert!(sel("is:control").names_control_frames());
    assert!(!sel("op:text is:violation ping").names_control_frames());
    let two = Selection {
        opcodes: vec![1],
        ..Selection::default()
    }
    .and(sel("op:10"));
    assert!(two.names_control_frames());
}

#[test]
fn conn_slash_stream_selects_one_http2_stream() {
    let s = sel("conn:3/1,4");
    let row = |conn, stream| Row {
        stream,
        conn: Some(conn),
        ..frame(1, b"x")
    };
    assert!(s.matches_row(&row(3, Some(1))));
    assert!(!s.matches_row(&row(3, Some(3))), "another stream of connection 3");
    assert!(!s.matches_row(&row(3, None)), "connection 3's own records");
    assert!(s.matches_row(&row(4, Some(9))), "all of connection 4");
    assert!(!s.matches_row(&row(5, Some(1))));
    // A pcap export keeps the whole TCP connection of a stream.
    assert!(s.matches_conn(3) && s.matches_conn(4) && !s.matches_conn(5));
    assert!(s.matches_session(3, Some(1)) && !s.matches_session(3, Some(3)));
    assert!(err("conn:3/x").contains("conn:3/1"), "{}", err("conn:3/x"));
    assert!(err("conn:/1").contains("CONN/STREAM"), "{}", err("conn:/1"));
}

#[test]
fn http2_rules_and_codes_are_known() {
    for r in [
        "rule:h2-connect-protocol-not-enabled",
        "rule:h2-data-after-refused-connect",
        "rule:h2-framing-lost",
    ] {
        sel(r);
    }
    assert!(
        err("rule:h2-connect").contains("did you mean"),
        "{}",
        err("rule:h2-connect")
    );
}
