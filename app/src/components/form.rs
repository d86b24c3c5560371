//! The pieces every form is made of: a labelled field with its hint and its
//! message, and a submit button that says when it is busy. Plain HTML:
//! the forms work without JavaScript.

use super::{invalid, FieldError};
use crate::server_fns::AppError;
use leptos::prelude::*;

/// A form field: its label, its control (the children), its hint
/// (`<name>-hint`) and the message when the last submission was refused
/// because of it (`<name>-error`). The control names both in its
/// `aria-describedby`; [`InputField`] does that for a text input.
#[component]
pub fn Field(
    /// The control's id (the label's `for`).
    id: &'static str,
    #[prop(into)] label: String,
    /// The form field's name, which names its message.
    name: &'static str,
    error: Signal<Option<AppError>>,
    #[prop(optional_no_strip)] hint: Option<&'static str>,
    /// Classes beside `field`.
    #[prop(optional)]
    class: &'static str,
    children: Children,
) -> impl IntoView {
    view! {
        <div class=super::classes("field", class)>
            <label for=id>{label}</label>
            {children()}
            {hint.map(|hint| view! { <p class="hint" id=format!("{name}-hint")>{hint}</p> })}
            <FieldError error field=name/>
        </div>
    }
}

/// A [`Field`] whose control is an `<input>` named `name`, marked invalid
/// and described by its hint and message.
#[component]
pub fn InputField(
    id: &'static str,
    #[prop(into)] label: String,
    name: &'static str,
    error: Signal<Option<AppError>>,
    /// The input's `type`.
    #[prop(default = "text")]
    kind: &'static str,
    #[prop(optional)] required: bool,
    /// What the input starts with.
    #[prop(optional, into)]
    value: MaybeProp<String>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] placeholder: Option<&'static str>,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] minlength: Option<&'static str>,
    #[prop(optional)] maxlength: Option<&'static str>,
    #[prop(optional)] min: Option<&'static str>,
    #[prop(optional)] pattern: Option<&'static str>,
    /// A code or a name typed as it is: no capital letters added, no
    /// spelling checked.
    #[prop(optional)]
    literal: bool,
) -> impl IntoView {
    let described = match hint {
        Some(_) => format!("{name}-hint {name}-error"),
        None => format!("{name}-error"),
    };
    view! {
        <Field id label name error hint>
            <input id=id name=name type=kind required=required value=move || value.get()
                placeholder=placeholder autocomplete=autocomplete minlength=minlength
                maxlength=maxlength min=min pattern=pattern
                autocapitalize=literal.then_some("none") spellcheck=literal.then_some("false")
                aria-invalid=invalid(error, name) aria-describedby=described/>
        </Field>
    }
}

/// A form's primary submit button. While the submission is pending it is
/// disabled with `busy` as its words (public/router.js reads `data-busy`).
#[component]
pub fn SubmitButton(label: &'static str, busy: &'static str) -> impl IntoView {
    view! {
        <button type="submit" class="btn btn-primary" data-busy=busy>{label}</button>
    }
}

/// A list's search: a plain GET form with the box `q` (so searching works
/// without JavaScript), labelled for assistive technology, and what else the
/// form sends (children: kept parameters, filters, a button). With
/// `as_you_type`, the form also submits itself a moment after each change
/// (`data-as-you-type`, public/router.js, which patches the page in place).
#[component]
pub fn SearchForm(
    /// The form's name, and the box's label and placeholder unless given.
    name: &'static str,
    /// The box's id.
    id: &'static str,
    #[prop(optional)] label: Option<&'static str>,
    #[prop(optional)] placeholder: Option<&'static str>,
    /// What the box starts with.
    value: String,
    #[prop(optional)] as_you_type: bool,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <form method="get" role="search" class="search" aria-label=name
            data-as-you-type=as_you_type.then_some("")>
            <label class="visually-hidden" for=id>{label.unwrap_or(name)}</label>
            <input id=id type="search" name="q" placeholder=placeholder.unwrap_or(name) value=value/>
            {children.map(|c| c())}
        </form>
    }
}
