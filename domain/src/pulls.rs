//! The pull log (SPEC §6): every manifest pull by a customer user, as the
//! registry records it ([`NewPull`]) and as the vendor reads it ([`Pull`],
//! in pages, JSON and CSV).

use crate::{CustomerId, OrgId, UserId};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// A manifest pull to record. The customer's name and the user's email are
/// copied in so that the log outlives both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPull {
    pub org_id: OrgId,
    pub customer_id: CustomerId,
    pub customer_name: String,
    pub user_id: UserId,
    pub user_email: String,
    /// The artifact name, without the org slug (`charts/web`).
    pub artifact: String,
    /// `None` when the manifest was pulled by digest.
    pub tag: Option<String>,
    pub digest: String,
    pub at: DateTime<Utc>,
    /// The client's IP address.
    pub address: String,
    /// How many pulls this row stands for: identical pulls (same user,
    /// artifact, tag, digest and address) within the same second of `at`
    /// are one row. At least 1.
    pub count: i64,
}

/// One row of the pull log, newest first in lists: one pull, or several
/// identical ones in the same second (`count`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pull {
    /// Increasing: pass the last one as `before` for the next page.
    pub id: i64,
    pub at: DateTime<Utc>,
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub customer_id: CustomerId,
    /// The customer's name; for a deleted customer, its name at the pull.
    pub customer: String,
    /// The customer has been deleted since.
    pub customer_deleted: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub user_id: UserId,
    /// The user's email at the pull.
    pub user_email: String,
    /// The artifact name, without the org slug (`charts/web`).
    pub artifact: String,
    /// `null` when the manifest was pulled by digest.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub tag: Option<String>,
    pub digest: String,
    /// The client's IP address, as the server saw it.
    pub address: String,
    /// How many identical pulls (same user, artifact, tag, digest and
    /// address) this row stands for, all within the second of `at`.
    #[serde(default = "one")]
    pub count: i64,
}

fn one() -> i64 {
    1
}

impl Pull {
    /// The customer as shown to people: its name, marked when deleted.
    pub fn customer_label(&self) -> String {
        if self.customer_deleted {
            format!("{} (deleted)", self.customer)
        } else {
            self.customer.clone()
        }
    }
}

/// Which pulls of an organization to read: newest first, at most `limit`,
/// only those older than `before` (an id) when given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullQuery {
    pub customer: Option<CustomerId>,
    pub artifact: Option<String>,
    pub before: Option<i64>,
    pub limit: i64,
}

/// What the pages show: the latest pulls.
pub const PAGE_PULLS: i64 = 50;
/// The most pulls one request returns (JSON or CSV); page with `before`.
pub const MAX_PULLS: i64 = 100_000;

/// The CSV columns, in order.
pub const CSV_HEADER: [&str; 11] = [
    "id",
    "time",
    "customer_id",
    "customer",
    "user_id",
    "user",
    "artifact",
    "tag",
    "digest",
    "address",
    "count",
];

/// The pulls as CSV (RFC 4180: CRLF line ends, fields quoted when needed),
/// with a header row. Text that a spreadsheet would run as a formula (it
/// starts with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a
/// leading `'`.
pub fn to_csv(pulls: &[Pull]) -> String {
    let mut out = String::with_capacity(64 + pulls.len() * 200);
    push_row(&mut out, CSV_HEADER.iter().map(|h| h.to_string()));
    for p in pulls {
        push_row(
            &mut out,
            [
                p.id.to_string(),
                p.at.to_rfc3339_opts(SecondsFormat::Secs, true),
                p.customer_id.to_string(),
                text_cell(&p.customer_label()),
                p.user_id.to_string(),
                text_cell(&p.user_email),
                text_cell(&p.artifact),
                text_cell(p.tag.as_deref().unwrap_or_default()),
                text_cell(&p.digest),
                text_cell(&p.address),
                p.count.to_string(),
            ],
        );
    }
    out
}

fn push_row(out: &mut String, cells: impl IntoIterator<Item = String>) {
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if cell.contains([',', '"', '\r', '\n']) {
            out.push('"');
            out.push_str(&cell.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&cell);
        }
    }
    out.push_str("\r\n");
}

/// Text that cannot start a spreadsheet formula (CSV injection).
fn text_cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pull(id: i64) -> Pull {
        Pull {
            id,
            at: DateTime::parse_from_rfc3339("2025-03-01T12:30:45.123Z")
                .unwrap()
                .with_timezone(&Utc),
            customer_id: CustomerId::from(7),
            customer: "Globex".into(),
            customer_deleted: false,
            user_id: UserId::from(9),
            user_email: "c@globex.test".into(),
            artifact: "charts/web".into(),
            tag: Some("1.0".into()),
            digest: "sha256:abc".into(),
            address: "192.0.2.1".into(),
            count: 1,
        }
    }

    #[test]
    fn csv_has_a_header_and_one_line_per_pull() {
        assert_eq!(
            to_csv(&[]),
            "id,time,customer_id,customer,user_id,user,artifact,tag,digest,address,count\r\n"
        );
        let by_digest = Pull {
            tag: None,
            count: 3,
            ..pull(2)
        };
        let csv = to_csv(&[by_digest, pull(1)]);
        let lines: Vec<&str> = csv.split_terminator("\r\n").collect();
        assert_eq!(
            lines[1..],
            [
                "2,2025-03-01T12:30:45Z,7,Globex,9,c@globex.test,charts/web,,sha256:abc,192.0.2.1,3",
                "1,2025-03-01T12:30:45Z,7,Globex,9,c@globex.test,charts/web,1.0,sha256:abc,192.0.2.1,1",
            ]
        );
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let p = Pull {
            customer: "Evil, \"Inc\"\nLine two".into(),
            customer_deleted: true,
            user_email: "=HYPERLINK(\"http://x\")".into(),
            address: "+1".into(),
            tag: Some("-x".into()),
            artifact: "@web".into(),
            ..pull(3)
        };
        let csv = to_csv(&[p]);
        let row = csv.split_once("\r\n").unwrap().1;
        assert_eq!(
            row,
            "3,2025-03-01T12:30:45Z,7,\"Evil, \"\"Inc\"\"\nLine two (deleted)\",9,\
             \"'=HYPERLINK(\"\"http://x\"\")\",'@web,'-x,sha256:abc,'+1,1\r\n"
        );
        // Tabs and carriage returns at the start are defused too.
        assert_eq!(text_cell("\tx"), "'\tx");
        assert_eq!(text_cell("\rx"), "'\rx");
        assert_eq!(text_cell("a=b"), "a=b");
    }
}
