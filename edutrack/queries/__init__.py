"""The one layer that speaks SQL. Functions take an AsyncSession; services own the transaction."""
