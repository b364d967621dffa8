//! HPACK (RFC 7541) header blocks, one decoder per direction, over the
//! `loona-hpack` crate.
//!
//! Why that crate: it is the maintained fork of `hpack`/`fluke-hpack` (the
//! `loona` HTTP server's codec), has no `unsafe`, decodes Huffman and the
//! dynamic table, and bounds the table by a limit we set; `h2`'s codec is
//! private to that endpoint library. What it cannot know, we add: the limit
//! a passive observer should accept (the receiver's SETTINGS, which may not
//! have been captured), and that after one failed block the dynamic table
//! is out of step for good (RFC 9113 §4.3: a COMPRESSION_ERROR ends the
//! connection), so later blocks are not decoded into wrong headers.

use loona_hpack::Decoder;

/// The table size before any SETTINGS (RFC 9113 §6.5.2).
pub const DEFAULT_TABLE_SIZE: usize = 4096;

/// The table size accepted when the receiver's SETTINGS were not captured
/// (a capture that starts mid-connection): larger than any browser or
/// server default, small enough for the memory budget.
pub const UNSEEN_SETTINGS_LIMIT: usize = 64 << 10;

/// The largest limit honoured from a SETTINGS_HEADER_TABLE_SIZE.
pub const MAX_TABLE_SIZE: usize = 1 << 20;

/// A header block of literals without indexing and without Huffman (RFC
/// 7541 §6.2.2), which every decoder must read: for tests, fuzz targets
/// and tools (wsscope itself only decodes). Names and values over 126
/// bytes are cut.
pub fn encode_literals(headers: &[(&str, &str)]) -> Vec<u8> {
    let mut v = Vec::new();
    for (n, val) in headers {
        // Literal without indexing, new name (0000 0000), then the name
        // and the value as strings without Huffman (H = 0, 7-bit length).
        v.push(0x00);
        for s in [n.as_bytes(), val.as_bytes()] {
            let b = s.get(..126).unwrap_or(s);
            v.push(b.len() as u8);
            v.extend_from_slice(b);
        }
    }
    v
}

/// One direction's header decoding.
pub struct HeaderDecoder {
    inner: Decoder<'static>,
    /// Dynamic table size updates above this are errors.
    limit: usize,
    /// Why decoding stopped, once it did.
    broken: Option<String>,
}

impl std::fmt::Debug for HeaderDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeaderDecoder")
            .field("limit", &self.limit)
            .field("broken", &self.broken)
            .finish()
    }
}

/// A decoded header list: names (lowercase in HTTP/2) and values, lossy
/// UTF-8, in order.
pub type Headers = Vec<(String, String)>;

impl HeaderDecoder {
    /// A decoder for a direction whose receiver's SETTINGS are known
    /// (`settings_seen`: the connection preface was captured) or not.
    pub fn new(settings_seen: bool) -> Self {
        let limit = if settings_seen {
            DEFAULT_TABLE_SIZE
        } else {
            UNSEEN_SETTINGS_LIMIT
        };
        let mut inner = Decoder::new();
        inner.set_max_allowed_table_size(limit);
        HeaderDecoder {
            inner,
            limit,
            broken: None,
        }
    }

    /// The receiver announced SETTINGS_HEADER_TABLE_SIZE: the encoder may
    /// now use up to that much.
    pub fn allow(&mut self, size: u32) {
        let size = usize::try_from(size).unwrap_or(usize::MAX).min(MAX_TABLE_SIZE);
        // A smaller announcement takes effect only once the encoder says
        // so (its size update); until then the old limit still applies.
        self.limit = self.limit.max(size);
        self.inner.set_max_allowed_table_size(self.limit);
    }

    /// Decodes one complete header block (HEADERS plus its CONTINUATIONs).
    pub fn decode(&mut self, block: &[u8]) -> Result<Headers, String> {
        if let Some(why) = &self.broken {
            return Err(format!("not decoded: an earlier header block failed ({why})"));
        }
        let mut out = Vec::new();
        let r = self.inner.decode_with_cb(block, |n, v| {
            out.push((
                String::from_utf8_lossy(&n).into_owned(),
                String::from_utf8_lossy(&v).into_owned(),
            ))
        });
        match r {
            Ok(()) => Ok(out),
            Err(e) => {
                let why = format!("HPACK: {e}");
                self.broken = Some(why.clone());
                Err(why)
            }
        }
    }

    /// The table is out of step (a block was lost or cut): later blocks
    /// are not decoded.
    pub fn mark_broken(&mut self, why: &str) {
        if self.broken.is_none() {
            self.broken = Some(why.to_string());
        }
    }

    pub fn is_broken(&self) -> bool {
        self.broken.is_some()
    }

    /// Heap bytes, for the memory budget: the table at its limit (RFC 7541
    /// counts 32 bytes of overhead per entry, about what the entry's two
    /// vectors cost).
    pub fn heap_bytes(&self) -> usize {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s.split_whitespace().collect::<String>()).unwrap()
    }

    fn pairs(h: &Headers) -> Vec<(&str, &str)> {
        h.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
    }

    /// RFC 7541 C.3: three requests without Huffman, one dynamic table.
    #[test]
    fn rfc7541_c3_requests_without_huffman() {
        let mut d = HeaderDecoder::new(true);
        let h = d
            .decode(&hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"))
            .unwrap();
        assert_eq!(
            pairs(&h),
            [
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "www.example.com")
            ]
        );
        let h = d.decode(&hex("8286 84be 5808 6e6f 2d63 6163 6865")).unwrap();
        assert_eq!(
            pairs(&h),
            [
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "www.example.com"),
                ("cache-control", "no-cache")
            ]
        );
        let h = d
            .decode(&hex(
                "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
            ))
            .unwrap();
        assert_eq!(
            pairs(&h),
            [
                (":method", "GET"),
                (":scheme", "https"),
                (":path", "/index.html"),
                (":authority", "www.example.com"),
                ("custom-key", "custom-value")
            ]
        );
    }

    /// RFC 7541 C.4: the same requests with Huffman coding.
    #[test]
    fn rfc7541_c4_requests_with_huffman() {
        let mut d = HeaderDecoder::new(true);
        let h = d
            .decode(&hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"))
            .unwrap();
        assert_eq!(pairs(&h)[3], (":authority", "www.example.com"));
        let h = d.decode(&hex("8286 84be 5886 a8eb 1064 9cbf")).unwrap();
        assert_eq!(pairs(&h)[4], ("cache-control", "no-cache"));
        let h = d
            .decode(&hex(
                "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
            ))
            .unwrap();
        assert_eq!(pairs(&h)[4], ("custom-key", "custom-value"));
    }

    /// RFC 7541 C.5/C.6: responses with a 256-byte table, so entries are
    /// evicted; C.6 with Huffman.
    #[test]
    fn rfc7541_c5_c6_responses_with_eviction() {
        for (huffman, blocks) in [
            (
                false,
                [
                    "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 \
                     2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 \
                     6c65 2e63 6f6d",
                    "4803 3330 37c1 c0bf",
                    "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d \
                     54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 \
                     5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e \
                     3d31",
                ],
            ),
            (
                true,
                [
                    "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 \
                     2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
                    "4883 640e ffc1 c0bf",
                    "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab \
                     77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f \
                     9587 3160 65c0 03ed 4ee5 b106 3d50 07",
                ],
            ),
        ] {
            let mut d = HeaderDecoder::new(true);
            // The encoder of C.5 works with a 256-byte table: the table
            // size update is implied by the example's setting.
            d.inner.set_max_table_size(256);
            let h1 = d.decode(&hex(blocks[0])).unwrap();
            assert_eq!(pairs(&h1)[0], (":status", "302"), "huffman {huffman}");
            assert_eq!(pairs(&h1)[3], ("location", "https://www.example.com"));
            // Second response: ":status 307" evicts ":status 302".
            let h2 = d.decode(&hex(blocks[1])).unwrap();
            assert_eq!(pairs(&h2)[0], (":status", "307"));
            assert_eq!(pairs(&h2)[3], ("location", "https://www.example.com"));
            let h3 = d.decode(&hex(blocks[2])).unwrap();
            assert_eq!(
                pairs(&h3),
                [
                    (":status", "200"),
                    ("cache-control", "private"),
                    ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
                    ("location", "https://www.example.com"),
                    ("content-encoding", "gzip"),
                    (
                        "set-cookie",
                        "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"
                    ),
                ],
                "huffman {huffman}"
            );
        }
    }

    #[test]
    fn literals_written_are_read_back() {
        let h = [(":method", "CONNECT"), (":protocol", "websocket"), ("x", "")];
        let mut d = HeaderDecoder::new(true);
        let got = d.decode(&encode_literals(&h)).unwrap();
        assert_eq!(pairs(&got), h);
    }

    #[test]
    fn a_failed_block_stops_decoding_and_says_why() {
        let mut d = HeaderDecoder::new(true);
        // Index 70 is past the static table and the empty dynamic one.
        let e = d.decode(&[0x80 | 70]).unwrap_err();
        assert!(e.contains("HPACK"), "{e}");
        // A valid block after it is not decoded into possibly wrong headers.
        let e = d
            .decode(&hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"))
            .unwrap_err();
        assert!(e.contains("earlier header block failed"), "{e}");
        assert!(d.is_broken());
    }

    #[test]
    fn table_size_updates_beyond_the_limit_are_refused() {
        let mut d = HeaderDecoder::new(true);
        // A size update to 1 MiB (0x3f e1 ff 3f = 32 + ...): beyond 4096.
        let mut block = vec![0x3f, 0xe1, 0xff, 0x3f];
        block.push(0x82);
        assert!(d.decode(&block).is_err());
        let mut d = HeaderDecoder::new(true);
        d.allow(1 << 20);
        assert_eq!(
            d.decode(&block).unwrap(),
            vec![(":method".to_string(), "GET".to_string())]
        );
    }
}
