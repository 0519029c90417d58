//! Badges in the shields.io "flat" style: a grey label and a coloured message, as SVG.
//!
//! Text widths are estimated per character for Verdana at 11 px (shields.io measures them with
//! the font's real metrics); badges are for humans, and a few pixels of slack in the padding is
//! all an estimate costs.

use maud::html;

/// shields.io's colours.
pub const GREEN: &str = "#4c1";
/// For "good but not perfect".
pub const YELLOW_GREEN: &str = "#a4a61d";
/// For warnings.
pub const ORANGE: &str = "#fe7d37";
/// For failures.
pub const RED: &str = "#e05d44";
/// For "no data".
pub const GREY: &str = "#9f9f9f";

/// A badge reading `label | message`, the message on `color`.
#[must_use]
pub fn render(label: &str, message: &str, color: &str) -> String {
    let label_width = text_width(label) + 10;
    let message_width = text_width(message) + 10;
    let width = label_width + message_width;
    let alt = format!("{label}: {message}");
    // Text is drawn at 10x and scaled down, as shields.io does, for crisp sub-pixel placement.
    let text = |x: u32, words: &str, length: u32| {
        html! {
            text aria-hidden="true" x=(x * 10) y="150" fill="#010101" fill-opacity=".3"
                transform="scale(.1)" textLength=(length * 10) { (words) }
            text x=(x * 10) y="140" transform="scale(.1)" fill="#fff" textLength=(length * 10) { (words) }
        }
    };
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(width) height="20" role="img" aria-label=(alt) {
            title { (alt) }
            linearGradient id="s" x2="0" y2="100%" {
                stop offset="0" stop-color="#bbb" stop-opacity=".1" {}
                stop offset="1" stop-opacity=".1" {}
            }
            clipPath id="r" { rect width=(width) height="20" rx="3" fill="#fff" {} }
            g clip-path="url(#r)" {
                rect width=(label_width) height="20" fill="#555" {}
                rect x=(label_width) width=(message_width) height="20" fill=(color) {}
                rect width=(width) height="20" fill="url(#s)" {}
            }
            g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif"
                text-rendering="geometricPrecision" font-size="110" {
                (text(label_width / 2, label, label_width - 10))
                (text(label_width + message_width / 2, message, message_width - 10))
            }
        }
    }
    .into_string()
}

/// The colour of an uptime fraction: green from 99.9 %, then yellow-green, orange, red.
#[must_use]
pub fn uptime_color(uptime: Option<f64>) -> &'static str {
    match uptime {
        None => GREY,
        Some(u) if u >= 0.999 => GREEN,
        Some(u) if u >= 0.99 => YELLOW_GREEN,
        Some(u) if u >= 0.95 => ORANGE,
        Some(_) => RED,
    }
}

/// Width of `text` in Verdana 11 px, in whole pixels, from per-character estimates.
fn text_width(text: &str) -> u32 {
    let tenths: u32 = text
        .chars()
        .map(|c| match c {
            'i' | 'l' | 'j' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' => 34,
            ' ' | 'f' | 't' | 'r' | 'I' | '(' | ')' | '[' | ']' | '-' => 44,
            'm' | 'w' | 'M' | 'W' | '%' => 100,
            'A'..='Z' => 75,
            _ => 66,
        })
        .sum();
    tenths.div_ceil(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_badge_is_one_svg_with_its_text_as_title_and_label() {
        let svg = render("api", "up", GREEN);
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
            "{svg}"
        );
        assert!(svg.contains("<title>api: up</title>"), "{svg}");
        assert!(svg.contains("aria-label=\"api: up\""), "{svg}");
        assert!(svg.contains("fill=\"#4c1\""), "{svg}");
    }

    #[test]
    fn wider_text_makes_a_wider_badge() {
        let width = |svg: &str| -> u32 {
            let start = svg.find("width=\"").unwrap() + 7;
            svg[start..].split('"').next().unwrap().parse().unwrap()
        };
        assert!(
            width(&render("uptime 30d", "99.99 %", GREEN)) > width(&render("api", "up", GREEN))
        );
    }

    #[test]
    fn markup_in_names_is_escaped() {
        let svg = render("a<b>&", "up", GREEN);
        assert!(svg.contains("a&lt;b&gt;&amp;"), "{svg}");
    }

    #[test]
    fn uptime_colours_step_down() {
        assert_eq!(uptime_color(Some(1.0)), GREEN);
        assert_eq!(uptime_color(Some(0.995)), YELLOW_GREEN);
        assert_eq!(uptime_color(Some(0.96)), ORANGE);
        assert_eq!(uptime_color(Some(0.5)), RED);
        assert_eq!(uptime_color(None), GREY);
    }

    #[test]
    fn each_part_is_its_texts_width_plus_10_and_the_text_is_centred_in_it() {
        // "api": 6.6 + 6.6 + 3.4 = 16.6, so 17 px and 27 with padding; "up": 13.2, 14 and 24.
        let svg = render("api", "up", GREEN);
        for part in [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"51\" height=\"20\"",
            "<rect width=\"51\" height=\"20\" rx=\"3\" fill=\"#fff\">",
            "<rect width=\"27\" height=\"20\" fill=\"#555\">",
            "<rect x=\"27\" width=\"24\" height=\"20\" fill=\"#4c1\">",
            "<text x=\"130\" y=\"140\" transform=\"scale(.1)\" fill=\"#fff\" textLength=\"170\">api</text>",
            "<text x=\"390\" y=\"140\" transform=\"scale(.1)\" fill=\"#fff\" textLength=\"140\">up</text>",
        ] {
            assert!(svg.contains(part), "{part}: {svg}");
        }
    }

    #[test]
    fn text_widths_come_from_per_character_estimates_rounded_up() {
        // Tenths of a pixel: narrow 34, a space and the like 44, wide 100, capitals 75, the
        // rest 66.
        assert_eq!(text_width("i"), 4);
        assert_eq!(text_width(" "), 5);
        assert_eq!(text_width("m"), 10);
        assert_eq!(text_width("A"), 8);
        assert_eq!(text_width("a"), 7);
        assert_eq!(text_width("iiiii"), 17);
        assert_eq!(text_width(""), 0);
    }
}
