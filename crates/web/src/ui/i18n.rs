//! Message catalogues of the customer UI. The English text is the message
//! id (gettext style), and each other language has a catalogue file of
//! `English = translation` lines embedded in the binary; a missing entry
//! falls back to English, and a test keeps the catalogues complete.

use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Ru,
    Lt,
}

const RU: &str = include_str!("i18n/ru.txt");
const LT: &str = include_str!("i18n/lt.txt");

fn parse(text: &'static str) -> HashMap<&'static str, &'static str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(" = "))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
}

fn catalogue(lang: Lang) -> Option<&'static HashMap<&'static str, &'static str>> {
    static RU_MAP: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    static LT_MAP: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    match lang {
        Lang::En => None,
        Lang::Ru => Some(RU_MAP.get_or_init(|| parse(RU))),
        Lang::Lt => Some(LT_MAP.get_or_init(|| parse(LT))),
    }
}

impl Lang {
    /// The UI language of a customer's `language` attribute. LV has no
    /// catalogue yet and shows English.
    pub fn from_code(code: &str) -> Lang {
        match code {
            "RU" => Lang::Ru,
            "LT" => Lang::Lt,
            _ => Lang::En,
        }
    }

    /// The `lang` attribute of the page.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
            Lang::Lt => "lt",
        }
    }

    pub fn t(self, msgid: &str) -> &str {
        catalogue(self).and_then(|c| c.get(msgid).copied()).unwrap_or(msgid)
    }
}

#[cfg(test)]
/// Fixed texts of the customer UI (labels of tabs, columns, filters and
/// fields come from the tab table and the schema; the test below adds them).
pub const MESSAGES: &[&str] = &[
    "Settings",
    "Sign out",
    "+ Create",
    "Export CSV",
    "Filter",
    "Reset",
    "Show",
    "Edit",
    "Delete",
    "Save",
    "Cancel",
    "Create",
    "Yes",
    "No",
    "Any",
    "Disabled",
    "Online",
    "Offline",
    "Previous",
    "Next",
    "First page",
    "Page",
    "of",
    "records",
    "Nothing matches these filters.",
    "Actions",
    "Sort by",
    "Please correct the marked fields.",
    "Saved.",
    "Deleted.",
    "Delete this record?",
    "Back to the list",
    "Show password",
    "Left empty, one is generated.",
    "Comma-separated, in order of preference:",
    "Customer UI",
    "Main navigation",
    "Pagination",
    "Filters",
    "Not found",
    "Not allowed",
    "The record identified by this id could not be found.",
    "Times are UTC.",
    "— none —",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::tabs::{label, TABS};

    /// Every text a customer can see, in every catalogue.
    #[test]
    fn catalogues_are_complete() {
        let mut ids: Vec<String> = MESSAGES.iter().map(|s| (*s).to_owned()).collect();
        for t in TABS.iter().filter(|t| t.customer) {
            ids.push(t.title.to_owned());
            ids.extend(t.columns.iter().filter(|c| !c.about_customer()).map(|c| c.label.to_owned()));
            ids.extend(t.filters.iter().filter(|f| !f.about_customer()).map(|f| f.label.to_owned()));
            ids.extend(t.res.rels.iter().filter(|r| r.name != "customer").map(|r| label(r.name)));
            ids.extend(t.res.fields.iter().map(|f| label(f.name)));
        }
        ids.push(label("language"));
        ids.sort();
        ids.dedup();
        for lang in [Lang::Ru, Lang::Lt] {
            let c = catalogue(lang).expect("a catalogue");
            let missing: Vec<&String> = ids.iter().filter(|id| !c.contains_key(id.as_str())).collect();
            assert!(missing.is_empty(), "{lang:?} lacks: {missing:#?}");
        }
    }

    #[test]
    fn falls_back_to_english() {
        assert_eq!(Lang::Ru.t("Delete"), "Удалить");
        assert_eq!(Lang::Ru.t("no such message"), "no such message");
        assert_eq!(Lang::from_code("LV"), Lang::En);
    }
}
