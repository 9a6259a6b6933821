from sqlalchemy import func, select

from gridconsole.db.models import Case


async def test_demo_fixture_has_cases(demo_db):
    async with demo_db.read() as conn:
        assert await conn.scalar(select(func.count()).select_from(Case.__table__)) > 2000
