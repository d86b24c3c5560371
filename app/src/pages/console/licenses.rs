//! `/licenses`: the org's customers.

use crate::components::{
    action_error, DataTable, EmptyState, FormError, InputField, Loaded, PageAt, PageTitle, Pager,
    SearchForm,
};
use crate::server_fns::{list_customers, CreateCustomer, CustomersView};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LicensesPage() -> impl IntoView {
    let create = ServerAction::<CreateCustomer>::new();
    let create_error = action_error(create);
    let query = use_query_map();
    // The search box starts with the address's `q` (a plain GET form,
    // followed in place by public/router.js, which leaves the box the user
    // is typing in as it is).
    let typed = query.read_untracked().get("q").unwrap_or_default();
    // The page is the address's: `?q=&after=&limit=` (a plain GET form and
    // plain links, so searching and paging work without JavaScript).
    let page = move || {
        let query = query.read();
        (
            query.get("q"),
            query.get("after"),
            query.get("limit"),
            query.get("ending").filter(|e| !e.is_empty()),
        )
    };
    let data = crate::data::load(page, |(q, after, limit, ending)| async move {
        let here = PageAt::new(&q, &after, &limit).with_filter("ending", &ending);
        list_customers(q, after, limit, ending)
            .await
            .map(|view| (view, here))
    });
    let ending = move || query.read().get("ending").is_some_and(|e| !e.is_empty());
    view! {
        <PageTitle title="Licenses"/>
        <header class="page-header">
            <h1>"Licenses"</h1>
            <SearchForm name="Search customers" id="customer-search" value=typed.clone()>
                {move || query.read().get("limit").map(|limit| view! { <input type="hidden" name="limit" value=limit/> })}
                <label class="check">
                    <input type="checkbox" name="ending" value="30"
                        checked=ending prop:checked=ending/>
                    "Entitlement ending within 30 days"
                </label>
                <button type="submit" class="btn btn-small">"Filter"</button>
            </SearchForm>
        </header>
        <Loaded data ready=move |(view, here)| view! { <CustomerList view create create_error here/> }/>
    }
}

#[component]
fn CustomerList(
    view: CustomersView,
    create: ServerAction<CreateCustomer>,
    create_error: Signal<Option<crate::server_fns::AppError>>,
    here: PageAt,
) -> impl IntoView {
    let CustomersView {
        customers,
        next,
        can_write,
    } = view;
    let searching = !here.q.is_empty() || here.filter.is_some();
    let first = here.after.is_some().then(|| here.first("/licenses"));
    let next = next.map(|after| here.next("/licenses", &after));
    let form = can_write.then(|| view! {
        <section class="card" aria-labelledby="new-customer-heading">
            <h2 id="new-customer-heading">"Create customer"</h2>
            <ActionForm action=create attr:class="form form-row" attr:aria-label="Create customer">
                <FormError error=create_error/>
                <InputField id="customer-name" label="Customer name" name="name" error=create_error
                    required=true maxlength="100"/>
                <button type="submit" class="btn btn-primary">"Create customer"</button>
            </ActionForm>
        </section>
    });
    let list = if customers.is_empty() && !searching && first.is_none() {
        view! {
            <EmptyState title="No customers yet">
                <p>{if can_write { "Create your first customer below, then give its users access to your artifacts." } else { "Customers your organization creates appear here." }}</p>
            </EmptyState>
        }
        .into_any()
    } else if customers.is_empty() {
        let message = if here.filter.is_some() {
            "No customer has an entitlement ending within 30 days."
        } else if searching {
            "No customer matches this search."
        } else {
            "No more customers."
        };
        view! {
            <section class="card">
                <p class="hint">{message}</p>
                <Pager label="Customer pages" first next/>
            </section>
        }
        .into_any()
    } else {
        view! {
            <section class="card">
                <DataTable label="Customers" columns=vec!["Customer", "Users", "Next entitlement end", "Created"]>
                            {customers.into_iter().map(|c| view! {
                                <tr>
                                    <td><A href=format!("/licenses/{}", c.id)>{c.name}</A></td>
                                    <td>{c.user_count}</td>
                                    <td>{c.next_expiry.map_or_else(|| "—".to_owned(), |t| t.format("%Y-%m-%d").to_string())}</td>
                                    <td class="muted">{c.created_at.format("%Y-%m-%d").to_string()}</td>
                                </tr>
                            }).collect_view()}
                        </DataTable>
                <Pager label="Customer pages" first next/>
            </section>
        }
        .into_any()
    };
    view! { {list} {form} }
}
