"""diary domain

Revision ID: 0002_diary
Revises: 0001
Create Date: 2026-11-27 00:13:48.391899
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0002_diary'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Exclusion constraints on (id =, time range &&) need btree_gist (a contrib extension shipped with PostgreSQL).
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table('schools',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('timezone', sa.String(length=64), server_default='Europe/Moscow', nullable=False),
    sa.Column('parents_in_class_chat', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('min_marks_for_attestation', sa.SmallInteger(), server_default=sa.text('3'), nullable=False),
    sa.Column('rounding_threshold', sa.Numeric(precision=3, scale=2), server_default=sa.text('0.5'), nullable=False),
    sa.Column('at_risk_average', sa.Numeric(precision=3, scale=2), server_default=sa.text('3.0'), nullable=False),
    sa.Column('at_risk_unexcused_absences', sa.SmallInteger(), server_default=sa.text('5'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schools')),
    sa.UniqueConstraint('name', name=op.f('uq_schools_name'))
    )
    op.create_table('academic_years',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('school_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=20), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.CheckConstraint('ends_on > starts_on', name=op.f('ck_academic_years_dates')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_academic_years_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_academic_years')),
    sa.UniqueConstraint('school_id', 'name', name=op.f('uq_academic_years_school_id'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('school_id', sa.BigInteger(), nullable=False),
    sa.Column('entity', sa.String(length=20), nullable=False),
    sa.Column('entity_id', sa.BigInteger(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('actor_id', sa.BigInteger(), nullable=True),
    sa.Column('old', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('new', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_log_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_audit_log_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index('ix_audit_log_entity', 'audit_log', ['entity', 'entity_id'], unique=False)
    op.create_index(op.f('ix_audit_log_school_id'), 'audit_log', ['school_id'], unique=False)
    op.create_table('parent_children',
    sa.Column('parent_id', sa.BigInteger(), nullable=False),
    sa.Column('child_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['child_id'], ['users.id'], name=op.f('fk_parent_children_child_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_id'], ['users.id'], name=op.f('fk_parent_children_parent_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('parent_id', 'child_id', name=op.f('pk_parent_children'))
    )
    op.create_index(op.f('ix_parent_children_child_id'), 'parent_children', ['child_id'], unique=False)
    op.create_table('subjects',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('school_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_subjects_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subjects')),
    sa.UniqueConstraint('school_id', 'name', name=op.f('uq_subjects_school_id'))
    )
    op.create_index(op.f('ix_subjects_school_id'), 'subjects', ['school_id'], unique=False)
    op.create_table('work_types',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('school_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('weight', sa.SmallInteger(), nullable=False),
    sa.CheckConstraint('weight BETWEEN 1 AND 10', name=op.f('ck_work_types_weight')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_work_types_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_types')),
    sa.UniqueConstraint('school_id', 'name', name=op.f('uq_work_types_school_id'))
    )
    op.create_table('classes',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('school_id', sa.BigInteger(), nullable=False),
    sa.Column('academic_year_id', sa.BigInteger(), nullable=True),
    sa.Column('name', sa.String(length=20), nullable=False),
    sa.Column('grade_level', sa.SmallInteger(), nullable=False),
    sa.Column('class_teacher_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('grade_level BETWEEN 1 AND 11', name=op.f('ck_classes_grade_level')),
    sa.ForeignKeyConstraint(['academic_year_id'], ['academic_years.id'], name=op.f('fk_classes_academic_year_id_academic_years'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['class_teacher_id'], ['users.id'], name=op.f('fk_classes_class_teacher_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_classes_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_classes')),
    sa.UniqueConstraint('school_id', 'academic_year_id', 'name', name=op.f('uq_classes_school_id'))
    )
    op.create_index(op.f('ix_classes_class_teacher_id'), 'classes', ['class_teacher_id'], unique=False)
    op.create_index(op.f('ix_classes_school_id'), 'classes', ['school_id'], unique=False)
    op.create_table('terms',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('school_id', sa.BigInteger(), nullable=False),
    sa.Column('academic_year_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.CheckConstraint('ends_on > starts_on', name=op.f('ck_terms_dates')),
    sa.ForeignKeyConstraint(['academic_year_id'], ['academic_years.id'], name=op.f('fk_terms_academic_year_id_academic_years'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_terms_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_terms')),
    sa.UniqueConstraint('academic_year_id', 'name', name=op.f('uq_terms_academic_year_id'))
    )
    op.create_index(op.f('ix_terms_school_id'), 'terms', ['school_id'], unique=False)
    op.create_table('attestations',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('school_id', sa.BigInteger(), nullable=False),
    sa.Column('student_id', sa.BigInteger(), nullable=False),
    sa.Column('class_id', sa.BigInteger(), nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=False),
    sa.Column('term_id', sa.BigInteger(), nullable=False),
    sa.Column('proposed', sa.String(length=10), nullable=False),
    sa.Column('final', sa.String(length=10), nullable=False),
    sa.Column('is_override', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('average', sa.Numeric(precision=4, scale=2), nullable=True),
    sa.Column('comment', sa.String(length=500), nullable=True),
    sa.Column('confirmed_by', sa.BigInteger(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['classes.id'], name=op.f('fk_attestations_class_id_classes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['confirmed_by'], ['users.id'], name=op.f('fk_attestations_confirmed_by_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_attestations_school_id_schools'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_attestations_student_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], name=op.f('fk_attestations_subject_id_subjects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['term_id'], ['terms.id'], name=op.f('fk_attestations_term_id_terms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attestations')),
    sa.UniqueConstraint('student_id', 'subject_id', 'term_id', name=op.f('uq_attestations_student_id'))
    )
    op.create_index(op.f('ix_attestations_term_id'), 'attestations', ['term_id'], unique=False)
    op.create_table('class_students',
    sa.Column('class_id', sa.BigInteger(), nullable=False),
    sa.Column('student_id', sa.BigInteger(), nullable=False),
    sa.Column('enrolled_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['classes.id'], name=op.f('fk_class_students_class_id_classes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_class_students_student_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('class_id', 'student_id', name=op.f('pk_class_students'))
    )
    op.create_index(op.f('ix_class_students_student_id'), 'class_students', ['student_id'], unique=False)
    op.create_table('lessons',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('school_id', sa.BigInteger(), nullable=False),
    sa.Column('class_id', sa.BigInteger(), nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=False),
    sa.Column('teacher_id', sa.BigInteger(), nullable=False),
    sa.Column('room', sa.String(length=30), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('topic', sa.String(length=300), nullable=True),
    sa.Column('homework', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    postgresql.ExcludeConstraint((sa.column('class_id'), '='), (sa.text('tstzrange(starts_at, ends_at)'), '&&'), using='gist', name='no_class_overlap'),
    postgresql.ExcludeConstraint((sa.column('school_id'), '='), (sa.column('room'), '='), (sa.text('tstzrange(starts_at, ends_at)'), '&&'), using='gist', name='no_room_overlap'),
    postgresql.ExcludeConstraint((sa.column('teacher_id'), '='), (sa.text('tstzrange(starts_at, ends_at)'), '&&'), using='gist', name='no_teacher_overlap'),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_lessons_times')),
    sa.ForeignKeyConstraint(['class_id'], ['classes.id'], name=op.f('fk_lessons_class_id_classes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_lessons_school_id_schools'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], name=op.f('fk_lessons_subject_id_subjects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['teacher_id'], ['users.id'], name=op.f('fk_lessons_teacher_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lessons'))
    )
    op.create_index('ix_lessons_class_starts', 'lessons', ['class_id', 'starts_at'], unique=False)
    op.create_index('ix_lessons_teacher_starts', 'lessons', ['teacher_id', 'starts_at'], unique=False)
    op.create_table('news',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('school_id', sa.BigInteger(), nullable=False),
    sa.Column('author_id', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('audience', sa.String(length=10), nullable=False),
    sa.Column('class_id', sa.BigInteger(), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=True),
    sa.Column('status', sa.String(length=10), server_default='draft', nullable=False),
    sa.Column('publish_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("audience <> 'class' OR class_id IS NOT NULL", name=op.f('ck_news_class_audience')),
    sa.CheckConstraint("audience <> 'role' OR role IS NOT NULL", name=op.f('ck_news_role_audience')),
    sa.CheckConstraint("audience IN ('school', 'class', 'role')", name=op.f('ck_news_audience')),
    sa.CheckConstraint("status IN ('draft', 'scheduled', 'published')", name=op.f('ck_news_status')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_news_author_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['class_id'], ['classes.id'], name=op.f('fk_news_class_id_classes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_news_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_news'))
    )
    op.create_index('ix_news_school_published', 'news', ['school_id', 'published_at'], unique=False)
    op.create_table('teaching_assignments',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('class_id', sa.BigInteger(), nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=False),
    sa.Column('teacher_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['classes.id'], name=op.f('fk_teaching_assignments_class_id_classes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], name=op.f('fk_teaching_assignments_subject_id_subjects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['teacher_id'], ['users.id'], name=op.f('fk_teaching_assignments_teacher_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teaching_assignments')),
    sa.UniqueConstraint('class_id', 'subject_id', 'teacher_id', name=op.f('uq_teaching_assignments_class_id'))
    )
    op.create_index(op.f('ix_teaching_assignments_teacher_id'), 'teaching_assignments', ['teacher_id'], unique=False)
    op.create_table('attendance',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('school_id', sa.BigInteger(), nullable=False),
    sa.Column('lesson_id', sa.BigInteger(), nullable=False),
    sa.Column('student_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=10), nullable=True),
    sa.Column('note', sa.String(length=300), nullable=True),
    sa.Column('marked_by', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("reason IN ('unexcused', 'illness', 'excused')", name=op.f('ck_attendance_reason')),
    sa.CheckConstraint("status = 'absent' OR reason IS NULL", name=op.f('ck_attendance_reason_only_if_absent')),
    sa.CheckConstraint("status IN ('present', 'absent', 'late')", name=op.f('ck_attendance_status')),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_attendance_lesson_id_lessons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['marked_by'], ['users.id'], name=op.f('fk_attendance_marked_by_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_attendance_school_id_schools'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_attendance_student_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance')),
    sa.UniqueConstraint('lesson_id', 'student_id', name=op.f('uq_attendance_lesson_id'))
    )
    op.create_index(op.f('ix_attendance_student_id'), 'attendance', ['student_id'], unique=False)
    op.create_table('grades',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('school_id', sa.BigInteger(), nullable=False),
    sa.Column('student_id', sa.BigInteger(), nullable=False),
    sa.Column('class_id', sa.BigInteger(), nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=False),
    sa.Column('teacher_id', sa.BigInteger(), nullable=False),
    sa.Column('lesson_id', sa.BigInteger(), nullable=True),
    sa.Column('work_type_id', sa.BigInteger(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('value', sa.SmallInteger(), nullable=True),
    sa.Column('mark', sa.String(length=10), nullable=True),
    sa.Column('comment', sa.String(length=500), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("mark IN ('na', 'pass', 'fail', 'exempt')", name=op.f('ck_grades_mark')),
    sa.CheckConstraint('(value IS NULL) <> (mark IS NULL)', name=op.f('ck_grades_value_or_mark')),
    sa.CheckConstraint('value BETWEEN 1 AND 5', name=op.f('ck_grades_value')),
    sa.ForeignKeyConstraint(['class_id'], ['classes.id'], name=op.f('fk_grades_class_id_classes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_grades_lesson_id_lessons'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_grades_school_id_schools'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_grades_student_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], name=op.f('fk_grades_subject_id_subjects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['teacher_id'], ['users.id'], name=op.f('fk_grades_teacher_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['work_type_id'], ['work_types.id'], name=op.f('fk_grades_work_type_id_work_types'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grades'))
    )
    op.create_index('ix_grades_class_subject_date', 'grades', ['class_id', 'subject_id', 'date'], unique=False, postgresql_where=sa.text('deleted_at IS NULL'))
    op.create_index(op.f('ix_grades_lesson_id'), 'grades', ['lesson_id'], unique=False)
    op.create_index('ix_grades_student_subject_date', 'grades', ['student_id', 'subject_id', 'date'], unique=False, postgresql_where=sa.text('deleted_at IS NULL'))
    op.create_foreign_key(op.f('fk_users_school_id_schools'), 'users', 'schools', ['school_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    op.drop_constraint(op.f('fk_users_school_id_schools'), 'users', type_='foreignkey')
    op.drop_index('ix_grades_student_subject_date', table_name='grades', postgresql_where=sa.text('deleted_at IS NULL'))
    op.drop_index(op.f('ix_grades_lesson_id'), table_name='grades')
    op.drop_index('ix_grades_class_subject_date', table_name='grades', postgresql_where=sa.text('deleted_at IS NULL'))
    op.drop_table('grades')
    op.drop_index(op.f('ix_attendance_student_id'), table_name='attendance')
    op.drop_table('attendance')
    op.drop_index(op.f('ix_teaching_assignments_teacher_id'), table_name='teaching_assignments')
    op.drop_table('teaching_assignments')
    op.drop_index('ix_news_school_published', table_name='news')
    op.drop_table('news')
    op.drop_index('ix_lessons_teacher_starts', table_name='lessons')
    op.drop_index('ix_lessons_class_starts', table_name='lessons')
    op.drop_table('lessons')
    op.drop_index(op.f('ix_class_students_student_id'), table_name='class_students')
    op.drop_table('class_students')
    op.drop_index(op.f('ix_attestations_term_id'), table_name='attestations')
    op.drop_table('attestations')
    op.drop_index(op.f('ix_terms_school_id'), table_name='terms')
    op.drop_table('terms')
    op.drop_index(op.f('ix_classes_school_id'), table_name='classes')
    op.drop_index(op.f('ix_classes_class_teacher_id'), table_name='classes')
    op.drop_table('classes')
    op.drop_table('work_types')
    op.drop_index(op.f('ix_subjects_school_id'), table_name='subjects')
    op.drop_table('subjects')
    op.drop_index(op.f('ix_parent_children_child_id'), table_name='parent_children')
    op.drop_table('parent_children')
    op.drop_index(op.f('ix_audit_log_school_id'), table_name='audit_log')
    op.drop_index('ix_audit_log_entity', table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_table('academic_years')
    op.drop_table('schools')
