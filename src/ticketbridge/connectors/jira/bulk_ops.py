"""Bulk writes against Jira: ``POST /issue/bulk``, the marker search that reconciles it, the
created issues as known without a read-back (created.py), and the read-back of many issues in
one search; status and field changes are in bulk_tasks.py.

Results are per item and normalized; Jira's documented error texts are kept, clipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ticketbridge.connectors.base import Created, CreateSpec, NormalizedIssue
from ticketbridge.connectors.jira import jql as jqlb
from ticketbridge.connectors.jira.bulk_tasks import REFUSED, BulkTaskOps
from ticketbridge.connectors.jira.client import BULK_CREATE_MAX
from ticketbridge.connectors.jira.created import issue_from_create
from ticketbridge.connectors.jira.errors import clip, documented
from ticketbridge.connectors.jira.mapping import SYNC_FIELDS, issue_from_jira
from ticketbridge.connectors.jira.payloads import (
    build_create_payload,
    custom_field_ids,
    visible_tags,
)
from ticketbridge.errors import VendorNotFound, VendorRejected
from ticketbridge.logging import get_logger

if TYPE_CHECKING:
    from ticketbridge.connectors.jira.client import JiraClient
    from ticketbridge.connectors.jira.config import JiraCredentials, JiraOptions

log = get_logger(__name__)

SEARCH_PAGE = 100


def element_error(error: Mapping[str, Any]) -> str:
    """Jira's ``elementErrors`` of one failed item as one readable line."""
    messages, errors = documented(error.get("elementErrors"))
    text = "; ".join(messages + [f"{k}: {v}" for k, v in errors.items()])
    status = error.get("status")
    return (
        clip(text) or f"Jira refused the item (HTTP {status if isinstance(status, int) else '?'})"
    )


class BulkOps(BulkTaskOps):
    client: JiraClient
    credentials: JiraCredentials
    options: JiraOptions
    bulk_create_max = BULK_CREATE_MAX

    # -- create --------------------------------------------------------------------------------
    async def bulk_create_issues(self, specs: Sequence[CreateSpec]) -> list[Created]:
        """One ``POST /issue/bulk`` (at most 50 items); results in input order.

        Raises VendorUnavailable/VendorTimeout when the outcome is unknown (the caller
        reconciles through the markers) and VendorRateLimited/VendorAuthFailed as they are.
        A refusal of the whole request becomes every item's error."""
        if len(specs) > BULK_CREATE_MAX:
            raise ValueError(f"at most {BULK_CREATE_MAX} issues per bulk create")
        payloads = [build_create_payload(spec, self.options) for spec in specs]
        try:
            body = await self.client.bulk_create(payloads)
        except REFUSED as exc:
            return [Created(error=exc.message) for _ in specs]
        failed: dict[int, str] = {}
        general: list[str] = []
        for error in body.get("errors") or []:
            index = error.get("failedElementNumber")
            if isinstance(index, int) and 0 <= index < len(specs):
                failed[index] = element_error(error)
            else:
                general.append(element_error(error))
        created = iter(body.get("issues") or [])
        out: list[Created] = []
        for index in range(len(specs)):
            if index in failed:
                out.append(Created(error=failed[index]))
                continue
            issue = next(created, None)
            if issue is None:  # neither created nor reported: Jira's general error, if any
                out.append(Created(error="; ".join(general) or "Jira did not create the issue"))
            else:
                out.append(Created(key=str(issue["key"]), vendor_id=str(issue["id"])))
        return out

    async def find_markers(self, markers: Sequence[str]) -> dict[str, Created]:
        """``{marker: the oldest issue carrying it}`` for the markers found in Jira."""
        wanted = set(markers)
        found: dict[str, Created] = {}
        if not wanted:
            return found
        labels = ", ".join(jqlb.quote(m) for m in sorted(wanted))
        jql = f"labels in ({labels}) ORDER BY created ASC"
        token: str | None = None
        while True:
            body = await self.client.search_jql(
                jql, next_page_token=token, max_results=SEARCH_PAGE, fields=["labels"]
            )
            for issue in body.get("issues") or []:
                for label in (issue.get("fields") or {}).get("labels") or []:
                    if label in wanted and label not in found:
                        found[label] = Created(key=str(issue["key"]), vendor_id=str(issue["id"]))
            token = body.get("nextPageToken") or None
            if token is None:
                return found

    def created_issue(
        self,
        spec: CreateSpec,
        created: Created,
        *,
        type_name: str | None = None,
        parent_key: str | None = None,
    ) -> NormalizedIssue:
        """The issue as known from the request and Jira's answer (no call; see created.py)."""
        return issue_from_create(
            spec,
            created,
            base_url=self.credentials.base_url,
            options=self.options,
            type_name=type_name,
            parent_key=parent_key,
        )

    # -- read back -----------------------------------------------------------------------------
    async def read_issues(
        self, vendor_ids: Sequence[str], custom_fields: Iterable[str] = ()
    ) -> dict[str, NormalizedIssue]:
        """Jira's view of these issues: one JQL search (``id in (...)``) per 100, then a GET
        for any the search missed (its index lags writes). Deleted issues are left out."""
        ids = list(dict.fromkeys(vendor_ids))
        fields = [*SYNC_FIELDS, *sorted(set(custom_field_ids(custom_fields)))]
        out: dict[str, NormalizedIssue] = {}
        for start in range(0, len(ids), SEARCH_PAGE):
            page = ids[start : start + SEARCH_PAGE]
            try:
                body = await self.client.search_jql(
                    f"id in ({', '.join(page)}) ORDER BY id ASC",
                    max_results=SEARCH_PAGE,
                    fields=fields,
                )
            except VendorRejected:  # e.g. an id that no longer exists makes the JQL invalid
                body = {"issues": []}
            for raw in body.get("issues") or []:
                out[str(raw["id"])] = self._bulk_normalize(raw)
        for vendor_id in ids:
            if vendor_id not in out:
                try:
                    raw = await self.client.get_issue(vendor_id, fields=fields)
                except VendorNotFound:
                    continue
                out[vendor_id] = self._bulk_normalize(raw)
        return out

    def _bulk_normalize(self, raw: Mapping[str, Any]) -> NormalizedIssue:
        issue = issue_from_jira(raw, base_url=self.credentials.base_url, options=self.options)
        return replace(issue, tags=visible_tags(issue.tags))
