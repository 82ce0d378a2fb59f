//! Message catalogues of the customer UI. The English text is the message
//! id (gettext style), and each other language has a catalogue file of
//! `English => translation` lines embedded in the binary; a missing entry
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
        .filter_map(|l| l.split_once(" => "))
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

    /// Translates a message with numbers in it (validation and store
    /// messages): the numbers become `{}` for the lookup and are put back,
    /// in order, into the translation. Unknown messages stay English.
    pub fn t_msg(self, msg: &str) -> String {
        let Some(c) = catalogue(self) else { return msg.to_owned() };
        let (template, numbers) = numbers_out(msg);
        let Some(tr) = c.get(template.as_str()) else { return msg.to_owned() };
        let mut out = String::with_capacity(tr.len() + 8);
        let mut parts = tr.split("{}");
        out.push_str(parts.next().unwrap_or(""));
        for (i, part) in parts.enumerate() {
            out.push_str(numbers.get(i).map_or("", String::as_str));
            out.push_str(part);
        }
        out
    }
}

/// `"must be 1 to 4 digits"` → (`"must be {} to {} digits"`, `["1", "4"]`).
fn numbers_out(msg: &str) -> (String, Vec<String>) {
    let mut template = String::with_capacity(msg.len());
    let mut numbers = Vec::new();
    let mut current = String::new();
    for ch in msg.chars() {
        if ch.is_ascii_digit() {
            current.push(ch);
            continue;
        }
        if !current.is_empty() {
            numbers.push(std::mem::take(&mut current));
            template.push_str("{}");
        }
        template.push(ch);
    }
    if !current.is_empty() {
        numbers.push(current);
        template.push_str("{}");
    }
    (template, numbers)
}

/// Store and validation messages a customer's form can show (numbers as
/// `{}`); the catalogues must translate each.
#[cfg(test)]
pub const ERROR_MESSAGES: &[&str] = &[
    "can't be blank",
    "can't be changed",
    "is read-only",
    "is too long (maximum is {} characters)",
    "must not contain control characters",
    "must contain digits only",
    "must be {} digits",
    "must be {} to {} digits",
    "must be between {} and {}",
    "must be true or false",
    "must list at least one codec",
    "must be an IP address or a host name",
    "must be {} to {} characters",
    "may contain only letters, digits and - _ . ! ~ * ' ( ) & = + $ , ; ? /",
    "may contain only printable ASCII characters without spaces",
    "has already been taken",
    "is already used by another SIP account of this customer",
    "must be a positive integer",
    "needs a valid id",
    "must exist",
    "can only be set by the operator",
    "can't be set together with a destination: a number rings one thing",
    "needs ids separated by commas",
    "can have at most {} members",
    "must be an array of phone numbers",
    "can have at most {} external numbers",
    "entry {} must be a string",
    "entry {} is not a phone number: {} to {} digits, optionally after a +",
    "entry {} repeats an earlier number",
    "The customer has reached its SIP account limit ({}); no more SIP accounts can be created",
    "must be one of the customer's own DID numbers",
    // Issue 16: bulk actions
    "A bulk action takes at most {} records; narrow the filters.",
    "and {} more",
];

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
    "Actions",
    "Sort by",
    "Please correct the marked fields.",
    "Saved.",
    "Deleted.",
    "Back to the list",
    "Show password",
    "Left empty, one is generated.",
    "Left empty: no limit.",
    "Comma-separated, in order of preference:",
    "Customer UI",
    "Main navigation",
    "Pagination",
    "Filters",
    "Not found",
    "Not allowed",
    "The record identified by this id could not be found.",
    "— none —",
    "Phone numbers in ring order, comma-separated.",
    "Limits set by your operator",
    "No limit",
    // Issue 16: columns
    "Columns",
    "Columns shown",
    "Apply",
    "Default columns",
    "Times are shown and entered in",
    "Your preferences",
    "Time zone",
    "Browser's time zone",
    "Times in both lists and detail pages are shown in this zone.",
    "s ago",
    "min ago",
    "h ago",
    "d ago",
    "ID",
    // Issue 16: bulk actions and empty states
    "Bulk actions",
    "— choose an action —",
    "With selected",
    "Disable",
    "Change",
    "Export selection",
    "Enabled",
    "Deleted",
    "Changed",
    "Field",
    "New value",
    "match: over the limit of 10,000 for a bulk action; narrow the filters to act on all of them.",
    "Select all",
    "matching",
    "Apply to selected",
    "Select all on this page",
    "Select",
    "not allowed here.",
    "not a field that can be changed in bulk.",
    "Set",
    "Confirm",
    "already so",
    "refused",
    "no longer exists",
    "could not be saved",
    "Choose an action.",
    "Select at least one record.",
    "Choose the field to change.",
    "None of the selected records exist any more.",
    "match these filters",
    "yet",
    "This sort cannot be used:",
    "This filter cannot be used:",
    "No such page.",
    "does not exist.",
    "Customer",
    "Ring group",
    "Capacity group",
    "Termination gateway",
    "Termination route",
    "CDR",
    "Operator user",
    "Customer user",
    "API credential",
    "Audit log entry",
    "Record",
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
        // The customer's settings page shows its fraud limits, read-only.
        ids.extend(["max_cps", "max_call_duration", "blocked_prefixes", "daily_minutes_limit", "allow_any_caller_id"].map(label));
        ids.extend(ERROR_MESSAGES.iter().map(|s| (*s).to_owned()));
        // Issue 16, forms: enum labels and helps, the reveal button, the delete confirmation.
        ids.extend(crate::ui::enums::ALL_TEXTS.iter().flat_map(|(_, l, h)| [(*l).to_owned(), (*h).to_owned()]));
        ids.extend(["Show password", "Hide password"].map(str::to_owned));
        ids.extend(crate::ui::confirm::texts().into_iter().map(str::to_owned));
        ids.sort();
        ids.dedup();
        for lang in [Lang::Ru, Lang::Lt] {
            let c = catalogue(lang).expect("a catalogue");
            let missing: Vec<&String> = ids.iter().filter(|id| !c.contains_key(id.as_str())).collect();
            assert!(missing.is_empty(), "{lang:?} lacks: {missing:#?}");
        }
    }

    #[test]
    fn messages_with_numbers_keep_their_numbers() {
        assert_eq!(Lang::Ru.t_msg("must be 1 to 4 digits"), "должно содержать от 1 до 4 цифр");
        assert_eq!(
            Lang::Lt.t_msg("The customer has reached its SIP account limit (12); no more SIP accounts can be created"),
            "Pasiektas kliento SIP paskyrų limitas (12); daugiau SIP paskyrų sukurti negalima"
        );
        assert_eq!(Lang::Ru.t_msg("an unknown message 7"), "an unknown message 7");
        assert_eq!(Lang::En.t_msg("must be 1 to 4 digits"), "must be 1 to 4 digits");
        assert_eq!(numbers_out("a 10 b 2"), ("a {} b {}".to_owned(), vec!["10".to_owned(), "2".to_owned()]));
    }

    #[test]
    fn falls_back_to_english() {
        assert_eq!(Lang::Ru.t("Delete"), "Удалить");
        assert_eq!(Lang::Ru.t("no such message"), "no such message");
        assert_eq!(Lang::from_code("LV"), Lang::En);
    }
}
