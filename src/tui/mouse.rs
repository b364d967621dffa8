//! The mouse: the wheel scrolls the pane under the pointer, a click
//! focuses it and selects the row under it.

use super::app::{App, Focus};
use super::keys::Move;
use super::panes;
use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Position;

impl App {
    pub fn on_mouse(&mut self, m: MouseEvent) {
        if self.findings.open {
            // Over the findings view: the wheel moves its selection.
            match m.kind {
                MouseEventKind::ScrollDown => panes::findings::apply_move(self, Move::Down(1)),
                MouseEventKind::ScrollUp => panes::findings::apply_move(self, Move::Up(1)),
                _ => {}
            }
            return;
        }
        let g = self.geometry.get();
        let at = Position::new(m.column, m.row);
        let pane = if g.conns.contains(at) {
            Focus::Conns
        } else if g.timeline.contains(at) {
            Focus::Timeline
        } else if g.detail.contains(at) {
            Focus::Detail
        } else {
            return;
        };
        let step = |down| if down { Move::Down(3) } else { Move::Up(3) };
        match m.kind {
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
                let mv = step(m.kind == MouseEventKind::ScrollDown);
                match pane {
                    Focus::Conns => panes::conns::apply_move(self, mv),
                    Focus::Timeline => {
                        // Scroll the window, and the cursor with it.
                        self.move_cursor(mv);
                    }
                    Focus::Detail => panes::detail::apply_move(self, mv),
                }
            }
            MouseEventKind::Down(MouseButton::Left) => {
                self.focus = pane;
                match pane {
                    Focus::Conns => {
                        let inner_top = g.conns.y + 1;
                        if m.row >= inner_top {
                            let pos = self.conns_offset.get() + usize::from(m.row - inner_top);
                            if pos <= self.conn_list().len() {
                                self.select_conn_pos(pos);
                            }
                        }
                    }
                    Focus::Timeline => {
                        let rows = g.timeline_rows;
                        if rows.contains(at) {
                            let pos = self.tl_offset.get() + usize::from(m.row - rows.y);
                            if pos < self.view.len() {
                                self.cursor = pos;
                                self.follow = false;
                                self.detail_scroll.set(0);
                            }
                        }
                    }
                    Focus::Detail => {}
                }
            }
            _ => {}
        }
    }
}
