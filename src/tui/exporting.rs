//! Exports from the timeline (`e`, `E`): the payload under the cursor, or
//! every payload of the view, whole (fetched from the capture when the
//! timeline holds only a preview), raw or as `hexdump -C`.

use super::app::{Action, App, ExportJob, is_raw_path};
use super::payload::Bytes;
use std::path::PathBuf;

impl App {
    pub(crate) fn export_payload(&mut self, path: String) -> Action {
        let Some(r) = self.selected().copied() else {
            return Action::None;
        };
        if !r.is_data() {
            self.status = Some(("no payload on this row".into(), true));
            return Action::None;
        }
        let data = match self.payload_now(&r) {
            Ok(d) => d,
            Err(why) => {
                self.status = Some((format!("cannot export this payload: {why}"), true));
                return Action::None;
            }
        };
        let path = PathBuf::from(path.trim());
        let raw = is_raw_path(&path);
        let contents = if raw {
            data.to_vec()
        } else {
            let mut out = Vec::with_capacity(data.len() * 4 + 16);
            super::export::hexdump(&data, &mut out);
            out
        };
        Action::Export(ExportJob {
            summary: format!(
                "{} bytes {} to {}",
                data.len(),
                if raw { "written" } else { "hexdumped" },
                path.display()
            ),
            path,
            contents,
        })
    }

    pub(crate) fn export_selection(&mut self, path: String) -> Action {
        let path = PathBuf::from(path.trim());
        let raw = is_raw_path(&path);
        let mut out = Vec::new();
        let (mut n, mut missing) = (0u64, 0u64);
        for &i in &self.view.rows {
            let Some(r) = self.store.records.get(i as usize) else {
                continue;
            };
            if !r.is_data() {
                continue;
            }
            let (data, whole) = match self.payload_now(r) {
                Ok(d) => (d, true),
                Err(_) => {
                    missing += 1;
                    (Bytes::Borrowed(self.store.data(r)), false)
                }
            };
            n += 1;
            if raw {
                out.extend_from_slice(&data);
            } else {
                let name = crate::event::opcode_name(r.opcode).unwrap_or("reserved");
                out.extend_from_slice(
                    format!(
                        "# conn {} {} {} {} {} bytes{}\n",
                        r.conn,
                        r.dir.map_or("-", |d| d.as_str()),
                        r.ts(),
                        name,
                        r.len,
                        if whole {
                            ""
                        } else {
                            " (payload not kept: preview only)"
                        }
                    )
                    .as_bytes(),
                );
                super::export::hexdump(&data, &mut out);
                out.push(b'\n');
            }
        }
        let summary = format!(
            "{n} payloads {} to {}{}",
            if raw { "written" } else { "hexdumped" },
            path.display(),
            if missing > 0 {
                format!(" — {missing} not kept in full; use wsscope export")
            } else {
                String::new()
            }
        );
        Action::Export(ExportJob {
            path,
            contents: out,
            summary,
        })
    }

    /// The run loop reports how an export went.
    pub fn export_done(&mut self, summary: String, result: std::io::Result<()>) {
        self.status = Some(match result {
            Ok(()) => (summary, false),
            Err(e) => (format!("export failed: {e}"), true),
        });
    }
}
