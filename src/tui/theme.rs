//! The one theme. Accents only: text keeps the terminal's default colours so
//! the screen reads on dark and light backgrounds alike. With `NO_COLOR`
//! (set and non-empty) every colour is dropped and emphasis is carried by
//! bold / underline / reverse / dim instead.

use crate::event::Dir;
use ratatui::style::{Color, Modifier, Style};

/// Styles used by every pane.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Theme {
    pub no_color: bool,
    /// Default text (terminal foreground).
    pub text: Style,
    /// Secondary text: column headers, hints, control frames.
    pub dim: Style,
    /// Titles and the header's product name.
    pub title: Style,
    /// The focused pane's border.
    pub focus_border: Style,
    pub border: Style,
    /// The cursor row.
    pub selected: Style,
    /// Client → server accents (arrows, lane labels).
    pub c2s: Style,
    /// Server → client accents.
    pub s2c: Style,
    /// Protocol violations.
    pub violation: Style,
    /// Capture gaps and diagnostics.
    pub gap: Style,
    /// Good news (verified accept).
    pub ok: Style,
    /// Bad news (accept mismatch, errors).
    pub bad: Style,
    /// Search hits inside a preview.
    pub hit: Style,
    /// Keys in the hint bar and help.
    pub key: Style,
}

impl Theme {
    pub fn new(no_color: bool) -> Theme {
        let plain = Style::new();
        let bold = Style::new().add_modifier(Modifier::BOLD);
        if no_color {
            Theme {
                no_color,
                text: plain,
                dim: Style::new().add_modifier(Modifier::DIM),
                title: bold,
                focus_border: bold,
                border: Style::new().add_modifier(Modifier::DIM),
                selected: Style::new().add_modifier(Modifier::REVERSED),
                c2s: bold,
                s2c: Style::new().add_modifier(Modifier::ITALIC),
                violation: Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
                gap: Style::new().add_modifier(Modifier::UNDERLINED),
                ok: bold,
                bad: Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
                hit: Style::new().add_modifier(Modifier::REVERSED | Modifier::UNDERLINED),
                key: bold,
            }
        } else {
            Theme {
                no_color,
                text: plain,
                dim: Style::new().add_modifier(Modifier::DIM),
                title: Style::new().fg(Color::Blue).add_modifier(Modifier::BOLD),
                focus_border: Style::new().fg(Color::Blue).add_modifier(Modifier::BOLD),
                border: Style::new().add_modifier(Modifier::DIM),
                selected: Style::new().add_modifier(Modifier::REVERSED),
                c2s: Style::new().fg(Color::Cyan),
                s2c: Style::new().fg(Color::Magenta),
                violation: Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
                gap: Style::new().fg(Color::Yellow),
                ok: Style::new().fg(Color::Green),
                bad: Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
                hit: Style::new().fg(Color::Black).bg(Color::Yellow),
                key: Style::new().fg(Color::Blue).add_modifier(Modifier::BOLD),
            }
        }
    }

    pub fn dir(&self, dir: Dir) -> Style {
        match dir {
            Dir::C2S => self.c2s,
            Dir::S2C => self.s2c,
        }
    }
}
