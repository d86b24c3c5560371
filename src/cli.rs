//! The `portcullis` command line (SPEC §8).

use crate::config::Config;
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Parser, Subcommand};
use domain::store::NewOrg;
use domain::{DisplayName, Email, NewPassword, OrgSlug, Plan};
use services::{ServiceError, Services, Settings};
use std::io::BufRead;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(
    name = "portcullis",
    version,
    about = "Self-hostable OCI registry with artifact entitlements"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (UI, API and registry on one port).
    Serve,
    /// Administration against the same database (works while the server runs).
    #[command(subcommand)]
    Admin(Admin),
}

#[derive(Debug, Subcommand)]
pub enum Admin {
    /// Create a vendor organization and its admin; the password is read from stdin.
    CreateOrg {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        admin_email: String,
        #[arg(long, default_value = "community")]
        plan: String,
        /// End of the trial, for --plan pro_trial (YYYY-MM-DD or RFC 3339; default 30 days).
        #[arg(long)]
        trial_ends: Option<String>,
    },
    /// Create an access token for a user (vendor or customer); prints only the token.
    CreateToken {
        #[arg(long)]
        email: String,
        #[arg(long)]
        label: String,
        /// Lifetime, e.g. 30d, 12h, 90m, 2w (default: no expiry).
        #[arg(long)]
        expires_in: Option<String>,
    },
    /// Change an organization's plan.
    SetPlan {
        #[arg(long)]
        org: String,
        #[arg(long)]
        plan: String,
        /// End of the trial, for --plan pro_trial (YYYY-MM-DD or RFC 3339; default 30 days).
        #[arg(long)]
        trial_ends: Option<String>,
    },
}

fn init_tracing() {
    let filter = EnvFilter::try_from_env("PORTCULLIS_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub fn run(cli: Cli) -> ExitCode {
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve => crate::server::serve(cli.config).await,
            Command::Admin(admin) => run_admin(&cli.config, admin).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Parses `YYYY-MM-DD` (end of that day, UTC) or an RFC 3339 timestamp.
pub fn parse_date(input: &str) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(ts) = DateTime::parse_from_rfc3339(input) {
        return Ok(ts.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(input, "%Y-%m-%d")
        .map_err(|_| anyhow::anyhow!("\"{input}\" is not a date; use YYYY-MM-DD or RFC 3339"))?;
    Ok(day.and_hms_opt(23, 59, 59).expect("valid time").and_utc())
}

/// Parses a lifetime like `30d`, `12h`, `90m`, `45s` or `2w`.
pub fn parse_lifetime(input: &str) -> anyhow::Result<chrono::Duration> {
    let input = input.trim();
    let split = input
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(input.len());
    let (num, unit) = input.split_at(split);
    let n: i64 = num.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
        anyhow::anyhow!("\"{input}\" is not a lifetime; use e.g. 30d, 12h or 90m")
    })?;
    let d = match unit {
        "s" => chrono::Duration::try_seconds(n),
        "m" => chrono::Duration::try_minutes(n),
        "h" => chrono::Duration::try_hours(n),
        "d" => chrono::Duration::try_days(n),
        "w" => chrono::Duration::try_weeks(n),
        _ => None,
    };
    d.filter(|d| *d <= chrono::Duration::days(3650))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "\"{input}\" is not a lifetime; use e.g. 30d, 12h or 90m (at most 10 years)"
            )
        })
}

fn trial_end(plan: Plan, trial_ends: Option<&str>) -> anyhow::Result<Option<DateTime<Utc>>> {
    let given = match (plan, trial_ends) {
        (Plan::ProTrial, Some(d)) => Some(parse_date(d)?),
        (_, Some(_)) => anyhow::bail!("--trial-ends only applies to --plan pro_trial"),
        (_, None) => None,
    };
    services::accounts::trial_end(plan, given, Utc::now())
        .map_err(|_| anyhow::anyhow!("--trial-ends only applies to --plan pro_trial"))
}

/// `--plan` and `--trial-ends`, parsed.
fn plan_flags(
    plan: &str,
    trial_ends: Option<&str>,
) -> anyhow::Result<(Plan, Option<DateTime<Utc>>)> {
    let plan = Plan::parse(plan).map_err(flag("--plan"))?;
    Ok((plan, trial_end(plan, trial_ends)?))
}

/// A flag's value refused, said with the flag's name (`--slug: …`).
fn flag<E: std::fmt::Display>(name: &'static str) -> impl FnOnce(E) -> anyhow::Error {
    move |e| anyhow::anyhow!("{name}: {e}")
}

/// The use cases over the configured store (no server: no caches to keep).
async fn open_services(config: &Config) -> anyhow::Result<Services> {
    let (store, _) = config.open_store().await?;
    Ok(Services::new(store, Settings::default()))
}

/// The words for a use case's refusal on the command line.
fn cli_error(e: ServiceError, flag_of: impl Fn(&str) -> &'static str) -> anyhow::Error {
    match e {
        ServiceError::Invalid(fields) => anyhow::anyhow!(
            "{}",
            fields
                .iter()
                .map(|(field, message)| format!("{}: {message}", flag_of(field)))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => anyhow::anyhow!("{other}"),
    }
}

fn read_password() -> anyhow::Result<NewPassword> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let pw = line.strip_suffix('\n').unwrap_or(&line);
    let pw = pw.strip_suffix('\r').unwrap_or(pw);
    let password = NewPassword::parse_lenient(pw)
        .map_err(|e| anyhow::anyhow!("admin password (read from standard input): {e}"))?;
    if pw.chars().count() < NewPassword::MIN_LEN {
        eprintln!(
            "warning: the password is shorter than {} characters",
            NewPassword::MIN_LEN
        );
    }
    Ok(password)
}

async fn run_admin(config: &Config, admin: Admin) -> anyhow::Result<()> {
    match admin {
        Admin::CreateOrg {
            slug,
            name,
            admin_email,
            plan,
            trial_ends,
        } => {
            let slug = OrgSlug::parse(&slug).map_err(flag("--slug"))?;
            let name = DisplayName::parse(&name).map_err(flag("--name"))?;
            let email = Email::parse(&admin_email).map_err(flag("--admin-email"))?;
            let (plan, trial_ends_at) = plan_flags(&plan, trial_ends.as_deref())?;
            let new = NewOrg {
                slug,
                name,
                plan,
                trial_ends_at,
            };
            let password = read_password()?;
            let services = open_services(config).await?;
            let (org, user) = services
                .create_org(new, email, password, false)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "Created organization {} ({}) on plan {} with admin {}",
                org.slug, org.name, org.plan, user.email
            );
            Ok(())
        }
        Admin::CreateToken {
            email,
            label,
            expires_in,
        } => {
            // An existing user: addresses stored before the grammar was
            // narrowed still work.
            let email = Email::parse_existing(&email).map_err(flag("--email"))?;
            let expires_at = expires_in
                .as_deref()
                .map(parse_lifetime)
                .transpose()?
                .map(|d| Utc::now() + d);
            let services = open_services(config).await?;
            let issuer = services::tokens::Issuer::Operator { email: &email };
            let secret = match services.create_token(issuer, &label, expires_at).await {
                Ok(created) => created.secret,
                Err(ServiceError::NotFound) => anyhow::bail!("no user with email {email}"),
                Err(e) => {
                    return Err(cli_error(e, |field| match field {
                        "label" => "--label",
                        _ => "--expires-in",
                    }))
                }
            };
            println!("{secret}");
            Ok(())
        }
        Admin::SetPlan {
            org,
            plan,
            trial_ends,
        } => {
            let slug = OrgSlug::parse(&org).map_err(flag("--org"))?;
            let (plan, trial_ends_at) = plan_flags(&plan, trial_ends.as_deref())?;
            let (store, _) = config.open_store().await?;
            let org = store
                .set_plan(&slug, plan, trial_ends_at)
                .await
                .map_err(|e| match e {
                    domain::store::StoreError::NotFound => {
                        anyhow::anyhow!("no organization with slug \"{slug}\"")
                    }
                    other => anyhow::anyhow!("{other}"),
                })?;
            // In effect on the next request to any running server.
            if !crate::changes::wait_until_applied(&store, std::time::Duration::from_secs(5))
                .await?
            {
                eprintln!("warning: a running server has not applied the change yet");
            }
            match org.trial_ends_at {
                Some(end) => println!(
                    "{} is now on plan {} until {}",
                    org.slug,
                    org.plan,
                    end.to_rfc3339()
                ),
                None => println!("{} is now on plan {}", org.slug, org.plan),
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(
            parse_date("2027-01-31").unwrap().to_rfc3339(),
            "2027-01-31T23:59:59+00:00"
        );
        assert_eq!(
            parse_date("2027-01-31T00:00:00Z").unwrap().to_rfc3339(),
            "2027-01-31T00:00:00+00:00"
        );
        assert!(parse_date("31/01/2027").is_err());
    }

    #[test]
    fn lifetimes() {
        assert_eq!(parse_lifetime("30d").unwrap(), chrono::Duration::days(30));
        assert_eq!(parse_lifetime("12h").unwrap(), chrono::Duration::hours(12));
        assert_eq!(parse_lifetime("2w").unwrap(), chrono::Duration::weeks(2));
        for bad in ["", "d", "0d", "30", "30y", "-1d", "99999d"] {
            assert!(parse_lifetime(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn trial_end_only_for_trials() {
        assert!(trial_end(Plan::Pro, Some("2027-01-01")).is_err());
        assert!(trial_end(Plan::ProTrial, None).unwrap().is_some());
        assert_eq!(trial_end(Plan::Community, None).unwrap(), None);
    }
}
