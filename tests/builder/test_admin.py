"""The admins' users page: listing, inviting, changing roles, deactivating, as an admin uses it,
checked on the pages and in the stored rows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, col, select

from runtime import db as dbmod
from runtime import staff as core
from runtime.models import StaffRole, StaffSetupToken, StaffUser, utcnow
from tests.builder.conftest import PASSWORD, StaffMembers
from tests.conftest import page


@contextmanager
def stored(app: Flask) -> Iterator[Session]:
    with dbmod.session(app.extensions["civicforms.engine"]) as s:
        yield s


def _token(client: FlaskClient, url: str = "/admin/users") -> str:
    field = page(client.get(url)).select_one("input[name=csrf_token]")
    assert field is not None, url
    return str(field["value"])


def _errors(response: Any) -> list[str]:
    return [a.get_text(strip=True) for a in page(response).select(".govuk-error-summary__list a")]


def _banner(response: Any) -> str:
    found = page(response).select_one(".govuk-notification-banner")
    return found.get_text(" ", strip=True) if found else ""


def _user(app: Flask, email: str) -> StaffUser:
    with stored(app) as s:
        user = s.exec(select(StaffUser).where(StaffUser.email == email)).one()
        s.expunge(user)
        return user


def _roles(app: Flask, user_id: int | None) -> dict[int, frozenset[str]]:
    assert user_id is not None
    with stored(app) as s:
        return core.roles_by_department(s, user_id)


@pytest.fixture
def team(staff: StaffMembers) -> dict[str, Any]:
    """Highways: Ada (admin), Dan (designer). Revenues: Rex (reviewer), Ria (admin)."""
    highways, revenues = staff.department("Highways"), staff.department("Revenues")
    return {
        "highways": highways,
        "revenues": revenues,
        "ada": staff.create(roles=[(highways, core.ADMIN)], name="Ada Admin"),
        "dan": staff.create(roles=[(highways, core.DESIGNER)], name="Dan Designer"),
        "rex": staff.create(roles=[(revenues, core.REVIEWER)], name="Rex Reviewer"),
        "ria": staff.create(roles=[(revenues, core.ADMIN)], name="Ria Admin"),
    }


# -- who may see what ------------------------------------------------------------------------------


def test_the_list_shows_only_the_admins_departments(builder: FlaskClient, staff: StaffMembers, team: Any) -> None:
    client = staff.sign_in(team["ada"])
    response = client.get("/admin/users")
    assert response.status_code == 200
    soup = page(response)
    assert soup.select_one("h1").get_text(strip=True) == "Users"
    rows = {r.select_one("a").get_text(strip=True): r for r in soup.select("tr.cf-user")}
    assert set(rows) == {"Ada Admin", "Dan Designer"}
    assert rows["Dan Designer"].select_one(".cf-roles").get_text(strip=True) == "Highways: Designer"
    assert rows["Dan Designer"].select_one(".cf-status").get_text(strip=True) == "Active"
    assert rows["Dan Designer"].select_one(".cf-two-factor").get_text(strip=True) == "Not set up"
    assert team["rex"].email not in response.get_data(as_text=True)
    # The navigation leads here.
    links = [a.get_text(strip=True) for a in soup.select(".govuk-service-navigation__link")]
    assert "Users" in links
    # Another department's people are not found, whatever is asked of them.
    rex = team["rex"].id
    assert client.get(f"/admin/users/{rex}").status_code == 404
    token = _token(client)
    for action in ("deactivate", "reset-two-factor", "set-up-link", "unlock"):
        assert client.post(f"/admin/users/{rex}/{action}", data={"csrf_token": token}).status_code == 404, action
    response = client.post(
        f"/admin/users/{rex}/roles", data={"csrf_token": token, f"roles-{team['revenues']}": "admin"}
    )
    assert response.status_code == 404
    assert _roles(builder.application, rex) == {team["revenues"]: {"reviewer"}}
    assert client.get("/admin/users/999999").status_code == 404
    with stored(builder.application) as s:
        assert s.get(StaffUser, rex).active  # type: ignore[union-attr]


def test_a_designer_may_not_manage_users(staff: StaffMembers, team: Any) -> None:
    client = staff.sign_in(team["dan"])
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/users/invite").status_code == 403
    # Their own department's people: a 403 (they may know them); another department's: a 404.
    assert client.get(f"/admin/users/{team['ada'].id}").status_code == 403
    assert client.get(f"/admin/users/{team['rex'].id}").status_code == 404
    assert "Users" not in [a.get_text(strip=True) for a in page(client.get("/")).select(".govuk-service-navigation a")]


def test_signed_out_goes_to_sign_in_and_comes_back(builder: FlaskClient, team: Any) -> None:
    response = builder.get(f"/admin/users/{team['dan'].id}")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/builder/sign-in?next=")
    token = _token(builder, "/sign-in")
    form = {
        "email": team["ada"].email,
        "password": PASSWORD,
        "csrf_token": token,
        "next": f"/admin/users/{team['dan'].id}",
    }
    response = builder.post("/sign-in", data=form)
    assert response.headers["Location"] == f"/builder/admin/users/{team['dan'].id}"
    assert builder.post(f"/admin/users/{team['dan'].id}/unlock").status_code in (200, 400)  # CSRF, not a 500


def test_posts_without_the_csrf_token_are_refused(builder: FlaskClient, staff: StaffMembers, team: Any) -> None:
    client = staff.sign_in(team["ada"])
    dan = team["dan"].id
    response = client.post(f"/admin/users/{dan}/deactivate")
    assert response.status_code == 400
    assert "Your page could not be sent" in response.get_data(as_text=True)
    response = client.post(
        "/admin/users/invite",
        data={"email": "new@example.gov.uk", "name": "New", "department": team["highways"], "role": "designer"},
    )
    assert response.status_code == 400
    response = client.post(f"/admin/users/{dan}/roles", data={f"roles-{team['highways']}": "admin"})
    assert response.status_code == 400
    with stored(builder.application) as s:
        assert s.get(StaffUser, dan).active  # type: ignore[union-attr]
        assert s.exec(select(StaffUser).where(StaffUser.email == "new@example.gov.uk")).first() is None
    assert _roles(builder.application, dan) == {team["highways"]: {"designer"}}


# -- inviting ---------------------------------------------------------------------------------------


def test_invite_makes_an_account_and_shows_its_link_once(builder: FlaskClient, staff: StaffMembers, team: Any) -> None:
    client = staff.sign_in(team["ada"])
    form = page(client.get("/admin/users/invite"))
    # One department administered: it is already chosen.
    assert form.select_one(f"input[name=department][value='{team['highways']}']").has_attr("checked")
    data = {
        "csrf_token": _token(client, "/admin/users/invite"),
        "email": "  Nia.New@Example.GOV.uk ",
        "name": "Nia  New",
        "department": team["highways"],
        "role": "reviewer",
    }
    response = client.post("/admin/users/invite", data=data)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    text = page(response).get_text(" ", strip=True)
    assert "Send this link to nia.new@example.gov.uk" in text
    assert "does not send email yet" in text
    link = page(response).select_one(".cf-setup-link code").get_text(strip=True)
    match = re.fullmatch(r"http://localhost/builder/set-up/([A-Za-z0-9_-]{40,})", link)
    assert match, link
    nia = _user(builder.application, "nia.new@example.gov.uk")
    assert nia.name == "Nia New" and nia.password_hash is None and nia.active
    assert _roles(builder.application, nia.id) == {team["highways"]: {"reviewer"}}
    # The list says the link is waiting; the link is not shown again anywhere.
    listing = client.get("/admin/users").get_data(as_text=True)
    assert "Set-up link not used yet" in listing and match.group(1) not in listing
    assert match.group(1) not in client.get(f"/admin/users/{nia.id}").get_data(as_text=True)
    # The link works, once.
    stranger = builder.application.test_client()
    assert stranger.get(f"/set-up/{match.group(1)}").status_code == 200
    token = _token(stranger, f"/set-up/{match.group(1)}")
    new_password = "a long new password 42"
    response = stranger.post(
        f"/set-up/{match.group(1)}", data={"csrf_token": token, "password": new_password, "confirm": new_password}
    )
    assert response.status_code == 303
    assert _user(builder.application, nia.email).password_hash
    row = page(client.get("/admin/users")).select_one(f"tr[data-user='{nia.id}'] .cf-status")
    assert row is not None and row.get_text(strip=True) == "Active"


@pytest.mark.parametrize(
    ("email", "name", "messages"),
    [
        (
            "",
            "",
            ["Enter an email address", "Enter the person's full name", "Select the department", "Select their role"],
        ),
        ("not-an-email", "Nia", ["Enter an email address in the correct format"]),
        ("nia@example.gov.uk", "N" * 10_000, ["Name must be 200 characters or fewer"]),
        ("a" * 10_000 + "@example.gov.uk", "Nia", ["Enter an email address in the correct format"]),
        ("<script>alert(1)</script>@x.gov.uk", "Nia", ["Enter an email address in the correct format"]),
    ],
)
def test_invite_refuses_bad_input(
    builder: FlaskClient, staff: StaffMembers, team: Any, email: str, name: str, messages: list[str]
) -> None:
    # Admin of two departments: nothing is chosen for them.
    boss = staff.create(roles=[(team["highways"], core.ADMIN), (team["revenues"], core.ADMIN)], name="Bea Boss")
    client = staff.sign_in(boss)
    data = {"csrf_token": _token(client, "/admin/users/invite"), "email": email, "name": name}
    if messages[0] != "Enter an email address":
        data.update(department=str(team["highways"]), role="designer")
    response = client.post("/admin/users/invite", data=data)
    assert response.status_code == 400
    found = _errors(response)
    assert len(found) == len(messages), found
    for message, error in zip(messages, found, strict=True):
        assert error.startswith(message)
    html = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert page(response).select_one("#email").get("value", "") == email.strip()[:20_000]
    # Each message links to its field, which exists.
    for link in page(response).select(".govuk-error-summary__list a"):
        assert page(response).select_one(str(link["href"])) is not None, link["href"]
    with stored(builder.application) as s:
        assert len(s.exec(select(StaffUser)).all()) == 5


def test_invite_only_into_the_admins_departments(builder: FlaskClient, staff: StaffMembers, team: Any) -> None:
    client = staff.sign_in(team["ada"])
    form = page(client.get("/admin/users/invite"))
    assert [i["value"] for i in form.select("input[name=department]")] == [str(team["highways"])]
    for department, role in ((team["revenues"], "designer"), ("x", "designer"), (team["highways"], "god")):
        data = {
            "csrf_token": _token(client, "/admin/users/invite"),
            "email": "nia@example.gov.uk",
            "name": "Nia",
            "department": department,
            "role": role,
        }
        response = client.post("/admin/users/invite", data=data)
        assert response.status_code == 400
        assert _errors(response) in (["Select the department they will work in"], ["Select their role"])
    with stored(builder.application) as s:
        assert s.exec(select(StaffUser).where(StaffUser.email == "nia@example.gov.uk")).first() is None


def test_a_hostile_name_is_kept_as_text(builder: FlaskClient, staff: StaffMembers, team: Any) -> None:
    client = staff.sign_in(team["ada"])
    hostile = '<script>alert("x")</script> & <b>Bold</b>'
    data = {
        "csrf_token": _token(client, "/admin/users/invite"),
        "email": "h@example.gov.uk",
        "name": hostile,
        "department": team["highways"],
        "role": "designer",
    }
    response = client.post("/admin/users/invite", data=data)
    assert response.status_code == 200
    assert "<script>alert" not in response.get_data(as_text=True)
    assert _user(builder.application, "h@example.gov.uk").name == hostile
    listing = client.get("/admin/users")
    assert "<script>alert" not in listing.get_data(as_text=True)
    assert hostile in page(listing).get_text()


def test_inviting_someone_who_has_an_account_offers_to_add_the_role(
    builder: FlaskClient, staff: StaffMembers, team: Any
) -> None:
    client = staff.sign_in(team["ada"])
    rex = team["rex"]
    data = {
        "csrf_token": _token(client, "/admin/users/invite"),
        "email": rex.email.upper(),
        "name": "",
        "department": team["highways"],
        "role": "reviewer",
    }
    response = client.post("/admin/users/invite", data=data)
    assert response.status_code == 400
    assert _errors(response) == [f"{rex.email} already has an account"]
    offer = page(response).select_one(".cf-existing form")
    assert offer is not None
    sent = {i["name"]: i.get("value", "") for i in offer.select("input")}
    assert sent["add_existing"] == "yes" and sent["role"] == "reviewer"
    response = client.post("/admin/users/invite", data=sent)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/builder/admin/users/{rex.id}"
    assert _roles(builder.application, rex.id) == {team["revenues"]: {"reviewer"}, team["highways"]: {"reviewer"}}
    user_page = client.get(f"/admin/users/{rex.id}")
    assert f"{rex.email} is now reviewer in Highways" in _banner(user_page)
    # Their Revenues role stays private to Revenues.
    assert "Revenues" not in page(user_page).select_one("main").get_text()
    assert "1 other department" in page(user_page).select_one(".cf-others").get_text()
    # Already in the department: point to their page instead.
    response = client.post("/admin/users/invite", data={**sent, "csrf_token": _token(client, "/admin/users/invite")})
    assert response.status_code == 400
    assert _errors(response) == [f"{rex.email} already has an account with a role in Highways"]
    assert page(response).select_one(f".cf-existing a[href='/builder/admin/users/{rex.id}']") is not None


# -- one person's page -----------------------------------------------------------------------------


def test_change_roles(builder: FlaskClient, staff: StaffMembers, team: Any) -> None:
    client = staff.sign_in(team["ada"])
    dan, highways = team["dan"], team["highways"]
    soup = page(client.get(f"/admin/users/{dan.id}"))
    boxes = soup.select(f"input[name=roles-{highways}]")
    assert [(b["value"], b.has_attr("checked")) for b in boxes] == [
        ("designer", True),
        ("reviewer", False),
        ("admin", False),
        ("caseworker", False),
        ("manager", False),
        ("records", False),
        ("dpo", False),
    ]
    token = _token(client, f"/admin/users/{dan.id}")
    data = {"csrf_token": token, f"roles-{highways}": ["reviewer", "admin"]}
    response = client.post(f"/admin/users/{dan.id}/roles", data=data)
    assert response.status_code == 303
    assert _roles(builder.application, dan.id) == {highways: {"reviewer", "admin"}}
    assert "Roles changed for Dan Designer" in _banner(client.get(f"/admin/users/{dan.id}"))
    # Dan is an admin now, so Ada is not the last one: Dan may take Ada's role (not his own).
    dans = staff.sign_in(dan)
    token = _token(dans, f"/admin/users/{dan.id}")
    response = dans.post(f"/admin/users/{dan.id}/roles", data={"csrf_token": token, f"roles-{highways}": "reviewer"})
    assert response.status_code == 400
    assert _errors(response) == ["You cannot remove your own admin role: ask another admin of the department"]
    assert _roles(builder.application, dan.id) == {highways: {"reviewer", "admin"}}
    response = dans.post(
        f"/admin/users/{team['ada'].id}/roles", data={"csrf_token": token, f"roles-{highways}": "designer"}
    )
    assert response.status_code == 303
    assert _roles(builder.application, team["ada"].id) == {highways: {"designer"}}
    # Ada is no admin any more: a change of roles signs her out everywhere (issue 13, finding 5),
    # and signed in again, the page is closed to her.
    assert client.get("/admin/users").status_code == 303
    client = staff.sign_in(team["ada"])
    assert client.get("/admin/users").status_code == 403
    # A role that is not one is refused, and changes nothing.
    response = dans.post(
        f"/admin/users/{dan.id}/roles", data={"csrf_token": token, f"roles-{highways}": ["admin", "god"]}
    )
    assert response.status_code == 400
    assert _errors(response) == ["Select roles from the list"]
    # No roles at all: they leave the department, and the list.
    response = dans.post(f"/admin/users/{team['ada'].id}/roles", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/builder/admin/users"
    assert _roles(builder.application, team["ada"].id) == {}
    assert dans.get(f"/admin/users/{team['ada'].id}").status_code == 404


def test_an_admin_cannot_demote_or_deactivate_themselves(builder: FlaskClient, staff: StaffMembers, team: Any) -> None:
    ada, highways = team["ada"], team["highways"]
    client = staff.sign_in(ada)
    soup = page(client.get(f"/admin/users/{ada.id}"))
    assert soup.select(".cf-account-actions a") == []  # no link to deactivate themselves
    token = _token(client, f"/admin/users/{ada.id}")
    response = client.post(f"/admin/users/{ada.id}/roles", data={"csrf_token": token, f"roles-{highways}": "designer"})
    assert response.status_code == 400
    assert _errors(response) == ["You cannot remove your own admin role: ask another admin of the department"]
    box = page(response).select_one(f"input[name=roles-{highways}][value=designer]")
    assert box is not None and box.has_attr("checked")  # what they chose is kept on the page
    response = client.post(f"/admin/users/{ada.id}/deactivate", data={"csrf_token": token})
    assert response.status_code == 400
    assert _errors(response) == ["You cannot deactivate your own account: ask another admin"]
    assert _roles(builder.application, ada.id) == {highways: {"admin"}}
    assert _user(builder.application, ada.email).active
    assert client.get("/admin/users").status_code == 200


def test_deactivate_and_reactivate(builder: FlaskClient, staff: StaffMembers, team: Any) -> None:
    admin, dan = staff.sign_in(team["ada"]), team["dan"]
    dans = staff.sign_in(dan)
    assert dans.get("/").status_code == 200
    confirm = page(admin.get(f"/admin/users/{dan.id}/deactivate"))
    assert confirm.select_one("h1").get_text(strip=True) == "Deactivate Dan Designer’s account?"
    assert _user(builder.application, dan.email).active  # asking changes nothing
    token = str(confirm.select_one("input[name=csrf_token]")["value"])
    response = admin.post(f"/admin/users/{dan.id}/deactivate", data={"csrf_token": token})
    assert response.status_code == 303
    assert not _user(builder.application, dan.email).active
    assert "Dan Designer’s account is deactivated" in _banner(admin.get(f"/admin/users/{dan.id}"))
    row = page(admin.get("/admin/users")).select_one(f"tr[data-user='{dan.id}'] .cf-status")
    assert row is not None and row.get_text(strip=True) == "Deactivated"
    # Dan's session ends at his next request; he cannot sign in again.
    response = dans.get("/")
    assert response.status_code == 303 and "/sign-in" in response.headers["Location"]
    fresh = builder.application.test_client()
    form = {"email": dan.email, "password": PASSWORD, "csrf_token": _token(fresh, "/sign-in")}
    assert fresh.post("/sign-in", data=form).status_code == 400
    # Back again.
    assert admin.get(f"/admin/users/{dan.id}/reactivate").status_code == 200
    response = admin.post(f"/admin/users/{dan.id}/reactivate", data={"csrf_token": token})
    assert response.status_code == 303
    assert _user(builder.application, dan.email).active
    assert fresh.post("/sign-in", data=form).status_code == 303


def test_unlock_reset_two_factor_and_a_new_setup_link(builder: FlaskClient, staff: StaffMembers, team: Any) -> None:
    client, dan = staff.sign_in(team["ada"]), team["dan"]
    with stored(builder.application) as s:
        row = s.get(StaffUser, dan.id)
        assert row is not None
        row.locked_until = utcnow() + timedelta(minutes=10)
        row.totp_secret = core.new_totp_secret()
        s.add(row)
        old_link = core.issue_setup_token(session=s, user=row)
        s.commit()
    soup = page(client.get(f"/admin/users/{dan.id}"))
    assert soup.select_one(".cf-account").get_text(" ", strip=True).count("Locked until") == 1
    token = str(soup.select_one("input[name=csrf_token]")["value"])
    # Unlock.
    assert client.post(f"/admin/users/{dan.id}/unlock", data={"csrf_token": token}).status_code == 303
    assert _user(builder.application, dan.email).locked_until is None
    # Reset two-factor: asks first.
    assert "lost the phone" in client.get(f"/admin/users/{dan.id}/reset-two-factor").get_data(as_text=True)
    assert _user(builder.application, dan.email).totp_secret is not None
    assert client.post(f"/admin/users/{dan.id}/reset-two-factor", data={"csrf_token": token}).status_code == 303
    assert _user(builder.application, dan.email).totp_secret is None
    # A new set-up link: shown once; the old one stops working, the password still works.
    response = client.post(f"/admin/users/{dan.id}/set-up-link", data={"csrf_token": token})
    assert response.status_code == 200
    assert f"Send this link to {dan.email}" in page(response).get_text(" ", strip=True)
    link = page(response).select_one(".cf-setup-link code").get_text(strip=True)
    new = link.rsplit("/", 1)[1]
    with stored(builder.application) as s:
        assert core.setup_token_user(session=s, token=old_link) is None
        found = core.setup_token_user(session=s, token=new)
        assert found is not None and found.id == dan.id
        assert len(s.exec(select(StaffSetupToken).where(col(StaffSetupToken.used_at).is_(None))).all()) == 1
    assert staff.sign_in(dan).get("/").status_code == 200


def test_unlink_single_sign_on(builder: FlaskClient, staff: StaffMembers, team: Any) -> None:
    """A recreated directory user has a new subject: an admin unlinks the old one (asked first, with
    CSRF, an admin of all the person's departments only), and the person is signed out."""
    dan, rex = team["dan"], team["rex"]
    for person in (dan, rex):
        with stored(builder.application) as s:
            core.user_for_oidc(session=s, issuer="https://idp", subject=f"old-{person.id}", email=person.email)
            s.commit()
    dans_browser = staff.sign_in(dan)
    client = staff.sign_in(team["ada"])
    soup = page(client.get(f"/admin/users/{dan.id}"))
    assert "Unlink single sign-on" in soup.select_one(".cf-account-actions").get_text(" ", strip=True)
    assert "account was recreated" in client.get(f"/admin/users/{dan.id}/unlink-sso").get_data(as_text=True)
    assert _user(builder.application, dan.email).oidc_subject == f"old-{dan.id}"
    assert client.post(f"/admin/users/{dan.id}/unlink-sso").status_code == 400  # no CSRF token
    token = _token(client, f"/admin/users/{dan.id}")
    response = client.post(f"/admin/users/{dan.id}/unlink-sso", data={"csrf_token": token})
    assert response.status_code == 303
    assert "Single sign-on unlinked for Dan Designer" in _banner(client.get(f"/admin/users/{dan.id}"))
    unlinked = _user(builder.application, dan.email)
    assert (unlinked.oidc_issuer, unlinked.oidc_subject) == (None, None)
    assert dans_browser.get("/").status_code == 303  # signed out
    assert "Unlink single sign-on" not in page(client.get(f"/admin/users/{dan.id}")).get_text()
    # The new identity links on its next sign-in by verified email.
    with stored(builder.application) as s:
        assert core.user_for_oidc(session=s, issuer="https://idp", subject="new", email=dan.email).id == dan.id
    # Another department's person, and a designer: refused.
    assert client.post(f"/admin/users/{rex.id}/unlink-sso", data={"csrf_token": token}).status_code == 404
    designer = staff.sign_in(dan)
    designer_token = _token(designer, "/")
    assert designer.post(f"/admin/users/{dan.id}/unlink-sso", data={"csrf_token": designer_token}).status_code == 403
    assert _user(builder.application, rex.email).oidc_subject == f"old-{rex.id}"


def test_an_admin_signs_someone_out_everywhere(builder: FlaskClient, staff: StaffMembers, team: Any) -> None:
    """A lost laptop: Dan's sessions end at once (issue 13, finding 5); the admin stays signed in."""
    client, dan = staff.sign_in(team["ada"]), team["dan"]
    dans = staff.sign_in(dan)
    assert dans.get("/").status_code == 200
    links = [a.get_text(" ", strip=True) for a in page(client.get(f"/admin/users/{dan.id}")).select("a")]
    assert "Sign out everywhere : Dan Designer" in links
    assert "is lost" in client.get(f"/admin/users/{dan.id}/sign-out-everywhere").get_data(as_text=True)
    assert dans.get("/").status_code == 200, "asking first changes nothing"
    token = _token(client, f"/admin/users/{dan.id}")
    response = client.post(f"/admin/users/{dan.id}/sign-out-everywhere", data={"csrf_token": token})
    assert response.status_code == 303
    assert "Dan Designer is signed out everywhere" in _banner(client.get(f"/admin/users/{dan.id}"))
    assert dans.get("/").status_code == 303
    assert client.get("/").status_code == 200
    rex = team["rex"]
    assert client.post(f"/admin/users/{rex.id}/sign-out-everywhere", data={"csrf_token": token}).status_code == 404
    own = client.post(f"/admin/users/{team['ada'].id}/sign-out-everywhere", data={"csrf_token": token})
    assert own.status_code == 400 and "the button on the sign-out page" in own.get_data(as_text=True)
    assert client.get("/").status_code == 200


def test_account_actions_need_every_department_of_the_person(
    builder: FlaskClient, staff: StaffMembers, team: Any
) -> None:
    """Ada may change Rex's roles in Highways, but not take over his account, which Revenues relies on too."""
    rex, highways = team["rex"], team["highways"]
    with stored(builder.application) as s:
        s.add(StaffRole(user_id=rex.id, department_id=highways, role=core.DESIGNER))
        s.commit()
    client = staff.sign_in(team["ada"])
    soup = page(client.get(f"/admin/users/{rex.id}"))
    assert soup.select(".cf-account-actions a") == []
    assert "1 other department" in soup.select_one(".cf-others").get_text()
    token = _token(client, f"/admin/users/{rex.id}")
    for action in ("deactivate", "reactivate", "reset-two-factor", "set-up-link"):
        assert client.get(f"/admin/users/{rex.id}/{action}").status_code == 403, action
        assert client.post(f"/admin/users/{rex.id}/{action}", data={"csrf_token": token}).status_code == 403, action
    with stored(builder.application) as s:
        assert s.exec(select(StaffSetupToken).where(StaffSetupToken.user_id == rex.id)).first() is None
        assert s.get(StaffUser, rex.id).active  # type: ignore[union-attr]
    response = client.post(f"/admin/users/{rex.id}/roles", data={"csrf_token": token, f"roles-{highways}": "reviewer"})
    assert response.status_code == 303
    assert _roles(builder.application, rex.id) == {team["revenues"]: {"reviewer"}, highways: {"reviewer"}}


def test_the_list_is_paged(builder: FlaskClient, staff: StaffMembers, team: Any) -> None:
    with stored(builder.application) as s:
        for i in range(55):
            core.create_user(
                session=s,
                email=f"p{i:02}@example.gov.uk",
                name=f"Person {i:02}",
                department_id=team["highways"],
                role="designer",
            )
        s.commit()
    client = staff.sign_in(team["ada"])
    first = page(client.get("/admin/users"))
    assert len(first.select("tr.cf-user")) == 50
    assert "57 people, page 1 of 2" in first.select_one("caption").get_text(" ", strip=True)
    assert first.select_one(".govuk-pagination__next a")["href"] == "/builder/admin/users?page=2"
    second = page(client.get("/admin/users?page=2"))
    names = [r.select_one("a").get_text(strip=True) for r in second.select("tr.cf-user")]
    assert names == [f"Person {i}" for i in range(48, 55)]  # after Ada Admin, Dan Designer and Person 00 to 47
    for odd in ("0", "-3", "x", "99999999999999999999"):
        assert client.get(f"/admin/users?page={odd}").status_code == 200, odd
