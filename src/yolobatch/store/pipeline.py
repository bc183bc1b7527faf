"""What steps 1-4 produce for a restaurant: extraction and menu, company candidates, company details."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select

from yolobatch.domain.menu import Menu
from yolobatch.store.core import (
    StoreCore,
)
from yolobatch.store.tables import (
    CompanyCandidateRow,
    CompanyDetailsRow,
    Extraction,
    MenuRow,
    MenuUpload,
    utcnow,
)


class PipelineData(StoreCore):
    def save_extraction(self, job_id: str, org_id: str, data: dict[str, Any], menu: Menu | None) -> None:
        """Replace the job's extraction (a retried step 1 overwrites, never appends)."""
        with self.transaction() as s:
            s.merge(Extraction(job_id=job_id, data=data, created_at=utcnow()))
            if menu is not None:
                s.merge(MenuRow(job_id=job_id, id=menu.id, org_id=org_id, data=menu.model_dump(mode="json")))

    def stage_menu(self, job_id: str, org_id: str, menu: Menu) -> str:
        """Keep a person's menu file apart (`adopt_menu` makes it the job's menu); answers its id."""
        upload_id = str(uuid.uuid4())
        with self.transaction() as s:
            s.add(MenuUpload(id=upload_id, job_id=job_id, org_id=org_id, data=menu.model_dump(mode="json")))
        return upload_id

    def adopt_menu(self, job_id: str, upload_id: str) -> bool:
        """Make the staged upload the one menu the config will import; False when there is no such upload
        (already adopted by an earlier attempt: then the job's menu is it)."""
        with self.transaction() as s:
            upload = s.get(MenuUpload, upload_id)
            if upload is None or upload.job_id != job_id:
                return False
            s.execute(delete(MenuRow).where(MenuRow.job_id == job_id))
            s.add(MenuRow(job_id=job_id, id=upload.data["id"], org_id=upload.org_id, data=upload.data))
            s.delete(upload)
        return True

    def discard_menu_upload(self, upload_id: str) -> None:
        with self.transaction() as s:
            s.execute(delete(MenuUpload).where(MenuUpload.id == upload_id))

    def extraction(self, job_id: str) -> dict[str, Any] | None:
        with self.session() as s:
            row = s.get(Extraction, job_id)
            return row.data if row else None

    def save_candidates(self, job_id: str, candidates: list[dict[str, Any]]) -> None:
        with self.transaction() as s:
            s.execute(delete(CompanyCandidateRow).where(CompanyCandidateRow.job_id == job_id))
            s.add_all(
                CompanyCandidateRow(job_id=job_id, number=c["number"], rank=rank, score=c["score"], data=c)
                for rank, c in enumerate(candidates)
            )

    def candidates(self, job_id: str) -> list[dict[str, Any]]:
        with self.session() as s:
            rows = s.scalars(
                select(CompanyCandidateRow)
                .where(CompanyCandidateRow.job_id == job_id)
                .order_by(CompanyCandidateRow.rank)
            )
            return [row.data for row in rows]

    def save_company_details(self, job_id: str, data: dict[str, Any], *, manual: bool) -> None:
        with self.transaction() as s:
            s.merge(CompanyDetailsRow(job_id=job_id, data=data, manual=manual, created_at=utcnow()))

    def company_details(self, job_id: str) -> dict[str, Any] | None:
        with self.session() as s:
            row = s.get(CompanyDetailsRow, job_id)
            return row.data if row else None

    def menu_ids(self, job_id: str) -> list[str]:
        with self.session() as s:
            return list(s.scalars(select(MenuRow.id).where(MenuRow.job_id == job_id)))
