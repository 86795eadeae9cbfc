//! Server-side SVG charts for the pages: pure functions from data to markup.
//!
//! Invariants: every text that goes into the markup passes through [`esc`]; every coordinate
//! lies inside the `viewBox`; an empty series gives a chart with a "no data" text rather than
//! nothing. Colours carry no meaning alone: states are also named in a legend and the axes are
//! labelled with units, so a chart stays readable in print (black and white) and in screenshots.
//!
//! Trends are downsampled before drawing (in SQL, `Store::series_buckets`: at most one bucket
//! per [`MAX_POINTS`]-th of the window, keeping each bucket's minimum and maximum), so a peak
//! never disappears and a page never draws more than a few hundred points.

use std::fmt::Write as _;

use chrono::{DateTime, TimeZone, Utc};

/// The most buckets a trend is drawn with.
pub(crate) const MAX_POINTS: usize = 500;

const WIDTH: f64 = 800.0;
const STRIP_HEIGHT: f64 = 90.0;
const LINE_HEIGHT: f64 = 220.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 10.0;
const TOP: f64 = 10.0;

/// Escapes text for XML content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in XML 1.0.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A time window in Unix milliseconds, `from < to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    /// Start.
    pub(crate) from_ms: i64,
    /// End.
    pub(crate) to_ms: i64,
}

impl Window {
    /// The window between two times (at least one millisecond long).
    pub(crate) fn new(from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        let from_ms = from.timestamp_millis();
        Self {
            from_ms,
            to_ms: to.timestamp_millis().max(from_ms + 1),
        }
    }

    fn span(self) -> f64 {
        (self.to_ms - self.from_ms) as f64
    }

    /// The x coordinate of `t`, clamped to the plot area `[left, left + width]`.
    fn x(self, t: i64, left: f64, width: f64) -> f64 {
        let t = t.clamp(self.from_ms, self.to_ms);
        left + (t - self.from_ms) as f64 / self.span() * width
    }
}

/// A colour for a state name: fill and whether text on it should be dark.
fn state_fill(state: &str) -> &'static str {
    // "DOWN 4,5" (a station timeline's label) is coloured as DOWN.
    let word = state.split_whitespace().next().unwrap_or_default();
    match word.to_ascii_uppercase().as_str() {
        "RUN" | "OK" | "ONLINE" => "#2e7d32",
        "STOP" | "DOWN" | "FAULT" | "ERROR" | "OFFLINE" | "DEFECT" => "#c62828",
        // Dark enough for white text (5:1).
        "STARTUP" | "HOLD" | "PAUSE" | "DEMOTED" | "FAILING" | "RESERVED" => "#b45309",
        _ => "#757575",
    }
}

/// A strip chart: which state held when, over `window`. `initial` is the state at the start of
/// the window (if known) and `changes` the changes inside it, oldest first. Spans before the
/// first known state are drawn as "unknown".
pub(crate) fn strip_chart(
    id: &str,
    title: &str,
    window: Window,
    initial: Option<&str>,
    changes: &[(i64, String)],
    no_data: &str,
) -> String {
    let plot_w = WIDTH - LEFT - RIGHT;
    let bar_h = 36.0;
    let mut svg = open_svg(id, title, STRIP_HEIGHT);
    let mut spans: Vec<(i64, i64, &str)> = Vec::new();
    let mut current: Option<(i64, &str)> = initial.map(|s| (window.from_ms, s));
    for (at, state) in changes {
        let at = (*at).clamp(window.from_ms, window.to_ms);
        if let Some((start, s)) = current
            && at > start
        {
            spans.push((start, at, s));
        }
        current = Some((at, state.as_str()));
    }
    if let Some((start, s)) = current
        && window.to_ms > start
    {
        spans.push((start, window.to_ms, s));
    }
    if spans.is_empty() {
        no_data_text(&mut svg, no_data, STRIP_HEIGHT);
    } else {
        let _ = write!(
            svg,
            r##"<rect x="{LEFT:.1}" y="{TOP:.1}" width="{plot_w:.1}" height="{bar_h:.1}" fill="#ffffff" stroke="#000000" stroke-width="0.5"/>"##
        );
        for (start, end, state) in &spans {
            let x0 = window.x(*start, LEFT, plot_w);
            let x1 = window.x(*end, LEFT, plot_w);
            let w = (x1 - x0).max(0.5);
            let _ = write!(
                svg,
                r##"<rect class="span" data-state="{s}" x="{x0:.1}" y="{TOP:.1}" width="{w:.1}" height="{bar_h:.1}" fill="{fill}" stroke="#000000" stroke-width="0.3"><title>{s}</title></rect>"##,
                s = esc(state),
                fill = state_fill(state),
            );
            // Name the state inside its span when there is room, so colour is never needed.
            if w > 8.0 * state.chars().count() as f64 + 6.0 {
                let _ = write!(
                    svg,
                    r##"<text x="{:.1}" y="{:.1}" font-size="12" fill="#ffffff" text-anchor="middle">{}</text>"##,
                    x0 + w / 2.0,
                    TOP + bar_h / 2.0 + 4.0,
                    esc(state)
                );
            }
        }
        time_axis(&mut svg, window, TOP + bar_h, plot_w);
        // Legend: each state once, in order of first appearance.
        let mut seen: Vec<&str> = Vec::new();
        for (_, _, s) in &spans {
            if !seen.contains(s) {
                seen.push(s);
            }
        }
        let mut x = LEFT;
        let y = STRIP_HEIGHT - 8.0;
        for s in seen.iter().take(8) {
            let _ = write!(
                svg,
                r##"<rect x="{x:.1}" y="{:.1}" width="10" height="10" fill="{}" stroke="#000000" stroke-width="0.5"/><text x="{:.1}" y="{y:.1}" font-size="11" fill="#000000">{}</text>"##,
                y - 9.0,
                state_fill(s),
                x + 14.0,
                esc(s)
            );
            x += 24.0 + 7.0 * s.chars().count() as f64;
            if x > WIDTH - 60.0 {
                break;
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

/// One bucket of a downsampled trend.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bucket {
    /// Time of the bucket's first point, Unix milliseconds.
    pub(crate) at_ms: i64,
    /// Smallest value in the bucket.
    pub(crate) min: f64,
    /// Largest value in the bucket.
    pub(crate) max: f64,
}

/// Buckets the store reduced already (`Store::series_buckets`), for [`line_chart`].
pub(crate) fn stored_buckets(rows: &[(chrono::DateTime<Utc>, f64, f64)]) -> Vec<Bucket> {
    rows.iter()
        .filter(|(_, min, max)| min.is_finite() && max.is_finite())
        .map(|&(at, min, max)| Bucket {
            at_ms: at.timestamp_millis(),
            min,
            max,
        })
        .collect()
}

/// A line chart of a downsampled trend over `window`, with a time axis and a value axis
/// labelled in `unit`. Where a bucket's min and max differ, both are drawn (a band).
pub(crate) fn line_chart(
    id: &str,
    title: &str,
    unit: &str,
    window: Window,
    buckets: &[Bucket],
    no_data: &str,
) -> String {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = LINE_HEIGHT - TOP - 40.0;
    let mut svg = open_svg(id, title, LINE_HEIGHT);
    let finite: Vec<&Bucket> = buckets
        .iter()
        .filter(|b| b.min.is_finite() && b.max.is_finite())
        .collect();
    if finite.is_empty() {
        no_data_text(&mut svg, no_data, LINE_HEIGHT);
        svg.push_str("</svg>");
        return svg;
    }
    let lo = finite.iter().map(|b| b.min).fold(f64::INFINITY, f64::min);
    let hi = finite
        .iter()
        .map(|b| b.max)
        .fold(f64::NEG_INFINITY, f64::max);
    let (y_min, y_max, step) = nice_range(lo.min(0.0), hi);
    let y = |v: f64| TOP + plot_h - (v - y_min) / (y_max - y_min) * plot_h;
    let _ = write!(
        svg,
        r##"<rect x="{LEFT:.1}" y="{TOP:.1}" width="{plot_w:.1}" height="{plot_h:.1}" fill="#ffffff" stroke="#000000" stroke-width="0.5"/>"##
    );
    // Value axis: grid lines and labels with the unit.
    let mut v = y_min;
    let mut ticks = 0;
    while v <= y_max + step / 2.0 && ticks < 12 {
        let yy = y(v);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT:.1}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#bdbdbd" stroke-width="0.5" stroke-dasharray="3 3"/><text x="{:.1}" y="{:.1}" font-size="11" fill="#000000" text-anchor="end">{}</text>"##,
            LEFT + plot_w,
            LEFT - 4.0,
            yy + 4.0,
            esc(&format_value(v)),
        );
        v += step;
        ticks += 1;
    }
    let _ = write!(
        svg,
        r##"<text x="4" y="{:.1}" font-size="11" fill="#000000">{}</text>"##,
        TOP + 10.0,
        esc(unit)
    );
    time_axis(&mut svg, window, TOP + plot_h, plot_w);
    let pts = |f: &dyn Fn(&Bucket) -> f64| {
        finite
            .iter()
            .map(|b| format!("{:.1},{:.1}", window.x(b.at_ms, LEFT, plot_w), y(f(b))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let banded = finite.iter().any(|b| b.max > b.min);
    if banded {
        let _ = write!(
            svg,
            r##"<polyline class="min" points="{}" fill="none" stroke="#1565c0" stroke-width="1" stroke-dasharray="4 2"/>"##,
            pts(&|b| b.min)
        );
        // Which line is which, without relying on colour.
        let lx = LEFT + plot_w - 120.0;
        let _ = write!(
            svg,
            r##"<line x1="{lx:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#0d47a1" stroke-width="1.5"/><text x="{:.1}" y="{:.1}" font-size="11" fill="#000000">max</text><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#1565c0" stroke-width="1" stroke-dasharray="4 2"/><text x="{:.1}" y="{:.1}" font-size="11" fill="#000000">min</text>"##,
            LINE_HEIGHT - 8.0,
            lx + 16.0,
            LINE_HEIGHT - 8.0,
            lx + 20.0,
            LINE_HEIGHT - 4.0,
            lx + 55.0,
            LINE_HEIGHT - 8.0,
            lx + 71.0,
            LINE_HEIGHT - 8.0,
            lx + 75.0,
            LINE_HEIGHT - 4.0,
        );
    }
    let _ = write!(
        svg,
        r##"<polyline class="max" points="{}" fill="none" stroke="#0d47a1" stroke-width="1.5"/>"##,
        pts(&|b| b.max)
    );
    if finite.len() == 1 {
        let b = finite[0];
        let _ = write!(
            svg,
            r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="#0d47a1"/>"##,
            window.x(b.at_ms, LEFT, plot_w),
            y(b.max)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn open_svg(id: &str, title: &str, height: f64) -> String {
    let mut svg = String::with_capacity(4096);
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" id="{id}" class="chart" viewBox="0 0 {WIDTH:.0} {height:.0}" width="100%" role="img" aria-label="{t}" font-family="sans-serif"><title>{t}</title>"##,
        id = esc(id),
        t = esc(title),
    );
    svg
}

fn no_data_text(svg: &mut String, text: &str, height: f64) {
    let _ = write!(
        svg,
        r##"<text class="no-data" x="{:.1}" y="{:.1}" font-size="14" fill="#000000" text-anchor="middle">{}</text>"##,
        WIDTH / 2.0,
        height / 2.0,
        esc(text)
    );
}

/// Ticks at the start, middle and end of the window, in UTC.
fn time_axis(svg: &mut String, window: Window, y: f64, plot_w: f64) {
    // Short windows show the time only; longer ones the date too.
    let long = window.span() > 6.0 * 3_600_000.0;
    for (i, t) in [
        window.from_ms,
        window.from_ms + (window.to_ms - window.from_ms) / 2,
        window.to_ms,
    ]
    .into_iter()
    .enumerate()
    {
        let x = window.x(t, LEFT, plot_w);
        let anchor = ["start", "middle", "end"][i];
        let label = Utc
            .timestamp_millis_opt(t)
            .single()
            .map(|d| {
                if long {
                    d.format("%m-%d %H:%M").to_string()
                } else {
                    d.format("%H:%M").to_string()
                }
            })
            .unwrap_or_default();
        let _ = write!(
            svg,
            r##"<line x1="{x:.1}" y1="{y:.1}" x2="{x:.1}" y2="{:.1}" stroke="#000000" stroke-width="0.5"/><text x="{x:.1}" y="{:.1}" font-size="11" fill="#000000" text-anchor="{anchor}">{} UTC</text>"##,
            y + 4.0,
            y + 16.0,
            esc(&label)
        );
    }
}

/// A value range starting at `lo` that covers `hi`, with a round step (1, 2 or 5 × 10ⁿ).
fn nice_range(lo: f64, hi: f64) -> (f64, f64, f64) {
    let span = if hi > lo { hi - lo } else { lo.abs().max(1.0) };
    let raw = span / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let min = (lo / step).floor() * step;
    let mut max = (hi / step).ceil() * step;
    if max <= min {
        max = min + step;
    }
    (min, max, step)
}

fn format_value(v: f64) -> String {
    if v.abs() >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    #[test]
    fn a_state_with_details_is_coloured_by_its_first_word() {
        assert_eq!(state_fill("DOWN 4,5"), state_fill("DOWN"));
        assert_eq!(state_fill("down"), "#c62828");
        assert_eq!(state_fill("OK"), "#2e7d32");
        assert_eq!(state_fill(""), "#757575");
    }

    fn day() -> Window {
        Window {
            from_ms: 1_700_000_000_000,
            to_ms: 1_700_000_000_000 + 24 * HOUR,
        }
    }

    /// A small well-formedness check: tags nest and close, attributes are quoted, text has no
    /// raw `<` and every `&` starts an entity.
    fn assert_well_formed(xml: &str) {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = xml;
        while let Some(open) = rest.find('<') {
            check_text(&rest[..open]);
            let close = rest[open..]
                .find('>')
                .unwrap_or_else(|| panic!("unclosed tag in {xml}"))
                + open;
            let tag = &rest[open + 1..close];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name.trim()), "in {xml}");
            } else {
                let self_closing = tag.ends_with('/');
                let body = tag.trim_end_matches('/');
                let name: String = body.chars().take_while(|c| !c.is_whitespace()).collect();
                assert!(!name.is_empty(), "empty tag name in {xml}");
                // Attributes: name="value" pairs with no raw `<` or `"` inside.
                let mut attrs = body[name.len()..].trim();
                while !attrs.is_empty() {
                    let eq = attrs
                        .find("=\"")
                        .unwrap_or_else(|| panic!("bad attr {attrs}"));
                    let end = attrs[eq + 2..]
                        .find('"')
                        .unwrap_or_else(|| panic!("unquoted attr {attrs}"))
                        + eq
                        + 2;
                    check_text(&attrs[eq + 2..end]);
                    attrs = attrs[end + 1..].trim();
                }
                if !self_closing {
                    stack.push(name);
                }
            }
            rest = &rest[close + 1..];
        }
        check_text(rest);
        assert!(stack.is_empty(), "unclosed {stack:?} in {xml}");
    }

    fn check_text(t: &str) {
        assert!(!t.contains('<'), "raw < in {t:?}");
        for (i, _) in t.match_indices('&') {
            let ent = &t[i..];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                    .iter()
                    .any(|e| ent.starts_with(e)),
                "raw & in {t:?}"
            );
        }
    }

    /// Every x/y/cx/cy/x1/y1/x2/y2 number and polyline point lies inside the viewBox.
    fn assert_inside(svg: &str, height: f64) {
        for key in [
            " x=\"", " y=\"", " cx=\"", " cy=\"", " x1=\"", " y1=\"", " x2=\"", " y2=\"",
        ] {
            for (i, _) in svg.match_indices(key) {
                let v = &svg[i + key.len()..];
                let v: f64 = v[..v.find('"').unwrap_or(0)].parse().unwrap_or(-1.0);
                let max = if key.contains('x') { WIDTH } else { height };
                assert!((0.0..=max).contains(&v), "{key}{v} outside 0..{max}");
            }
        }
        for (i, _) in svg.match_indices("points=\"") {
            let v = &svg[i + 8..];
            for p in v[..v.find('"').unwrap_or(0)].split(' ') {
                let (x, y) = p.split_once(',').unwrap_or(("-1", "-1"));
                let (x, y): (f64, f64) = (x.parse().unwrap_or(-1.0), y.parse().unwrap_or(-1.0));
                assert!(
                    (0.0..=WIDTH).contains(&x) && (0.0..=height).contains(&y),
                    "{p}"
                );
            }
        }
    }

    #[test]
    fn text_is_escaped_everywhere() {
        let w = day();
        let svg = strip_chart(
            "m",
            "Mode <&> \"x\"",
            w,
            Some("<RUN>"),
            &[(w.from_ms + HOUR, "S&TOP".into())],
            "none",
        );
        assert_well_formed(&svg);
        assert!(
            svg.contains("&lt;RUN&gt;") && svg.contains("S&amp;TOP"),
            "{svg}"
        );
        let svg = line_chart("c", "a'b", "m<s", w, &[], "no <data>");
        assert_well_formed(&svg);
        assert!(svg.contains("no &lt;data&gt;"));
    }

    #[test]
    fn a_strip_chart_is_well_formed_and_stays_inside_its_view_box() {
        let w = day();
        let changes = vec![
            (w.from_ms - HOUR, "STOP".to_owned()),
            (w.from_ms + 2 * HOUR, "RUN".to_owned()),
            (w.from_ms + 5 * HOUR, "STOP".to_owned()),
            (w.to_ms + HOUR, "RUN".to_owned()),
        ];
        let svg = strip_chart("mode-timeline", "Mode", w, Some("RUN"), &changes, "none");
        assert_well_formed(&svg);
        assert_inside(&svg, STRIP_HEIGHT);
        assert!(svg.contains(r#"data-state="STOP""#) && svg.contains(r#"data-state="RUN""#));
        assert!(!svg.contains("no-data"));
    }

    #[test]
    fn empty_data_gives_a_no_data_text() {
        let w = day();
        let svg = strip_chart("m", "Mode", w, None, &[], "No data");
        assert_well_formed(&svg);
        assert!(svg.contains(r#"class="no-data""#) && svg.contains("No data"));
        let svg = line_chart("c", "Cycle", "ms", w, &[], "No data");
        assert_well_formed(&svg);
        assert!(svg.contains(r#"class="no-data""#) && !svg.contains("polyline"));
    }

    #[test]
    fn a_line_chart_is_well_formed_labelled_and_inside_its_view_box() {
        let w = day();
        let b: Vec<Bucket> = (0..MAX_POINTS as i64)
            .map(|i| Bucket {
                at_ms: w.from_ms + i * 172_800,
                min: 10.0 + (i % 37) as f64,
                max: 12.0 + (i % 37) as f64,
            })
            .collect();
        let svg = line_chart("cycle-trend", "Cycle time", "ms", w, &b, "none");
        assert_well_formed(&svg);
        assert_inside(&svg, LINE_HEIGHT);
        assert!(svg.contains(">ms</text>") && svg.contains("UTC</text>"));
        // A single point and a negative value still fit.
        let one = [Bucket {
            at_ms: w.to_ms,
            min: -3.0,
            max: -3.0,
        }];
        let svg = line_chart("x", "x", "ms", w, &one, "none");
        assert_well_formed(&svg);
        assert_inside(&svg, LINE_HEIGHT);
    }
}
