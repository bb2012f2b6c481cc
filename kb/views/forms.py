"""The base of every form in :mod:`kb.views`: typed text follows one rule (:mod:`kb.textcheck`).

:class:`Form` checks every text field after the field's own validators: a value holding a NUL
or another control character (or a line break in a one-line field) makes the form invalid, the
field's message says why (replacing messages the character may have caused, such as "not an
email address"), and the value shown back has the characters removed, so the person sees what
they typed and can send it again. Views answer an invalid form with a 400, as they already do.

Not checked, each for a reason:

* password fields: a password is never stored, shown or sent — only its scrypt hash is kept,
  and any character hashes — and refusing characters at sign-in could lock someone out;
* hidden fields and the CSRF token: each has a strict format of its own (digits, a key, a
  signed token) that already refuses anything else.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from flask_wtf import FlaskForm
from wtforms import Field, FieldList, FormField, HiddenField, PasswordField, TextAreaField
from wtforms import Form as PlainForm
from wtforms.validators import ValidationError

from kb import textcheck
from kb.services import accounts
from kb.services.errors import BadRequest

_OPTIONAL = re.compile(r"\s*\(optional\)$")
REMOVED = "They have been removed: check the text and try again."


def _text_fields(form: PlainForm) -> Iterator[Field]:
    """Every field of ``form`` that people type into, row forms included."""
    for field in form:
        if isinstance(field, FieldList):
            for entry in field.entries:
                if isinstance(entry, FormField):
                    yield from _text_fields(entry.form)
                else:
                    yield entry
        elif isinstance(field, FormField):
            yield from _text_fields(field.form)
        elif not isinstance(field, (PasswordField, HiddenField)) and field.type != "CSRFTokenField":
            yield field


def label_of(field: Field) -> str:
    """The field's label as messages begin with it (without "(optional)")."""
    return _OPTIONAL.sub("", field.label.text if field.label else field.name) or field.name


def check_text_fields(form: PlainForm) -> bool:
    """Apply the text rule to every text field of ``form``; True if all of them follow it.

    A field that does not gets one message (its other messages are dropped: they are most
    likely about the same characters) and its value without the offending characters.
    """
    valid = True
    for field in _text_fields(form):
        multiline = isinstance(field, TextAreaField)
        data: Any = field.data
        values = data if isinstance(data, list) else [data]
        found = next((problem for value in values if isinstance(value, str)
                      and (problem := textcheck.problem(value, multiline=multiline))), None)
        if found is None:
            continue
        valid = False
        if isinstance(data, list):
            field.data = [textcheck.clean(v, multiline=multiline) if isinstance(v, str) else v for v in data]
        else:
            field.data = textcheck.clean(data, multiline=multiline)
        field.raw_data = None  # show the cleaned value, not what was posted
        field.errors = [f"{label_of(field)} {found}. {REMOVED}"]
    return valid


class Form(FlaskForm):
    """A Flask-WTF form (CSRF included) whose text fields follow :mod:`kb.textcheck`."""

    def validate(self, extra_validators: Any = None) -> bool:
        """The fields' own validators, then the text rule over every text field."""
        valid = super().validate(extra_validators)
        return check_text_fields(self) and valid


class Mailbox:
    """Validator: the field holds one email address (:func:`kb.services.accounts.check_email`);
    its data becomes the address as stored."""

    def __call__(self, form: PlainForm, field: Field) -> None:
        try:
            field.data = accounts.check_email(field.data or "")
        except BadRequest as problem:
            raise ValidationError(problem.message) from None
