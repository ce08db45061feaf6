from django.db import migrations, models

import grids.storage


class Migration(migrations.Migration):
    """Photos are re-encoded by a task after the report is stored: a status, the quarantined
    original, and the rejection reason. Photos stored before this were cleaned in the request,
    so they are added as ready; new rows start as processing."""

    dependencies = [
        ("grids", "0002_seed_categories_sla_calendar"),
    ]

    operations = [
        migrations.AddField(
            model_name="incidentphoto",
            name="status",
            field=models.CharField(
                choices=[("processing", "照片处理中"), ("ready", "可查看"), ("rejected", "未通过检查")],
                default="ready",
                max_length=12,
                verbose_name="状态",
            ),
        ),
        migrations.AlterField(
            model_name="incidentphoto",
            name="status",
            field=models.CharField(
                choices=[("processing", "照片处理中"), ("ready", "可查看"), ("rejected", "未通过检查")],
                default="processing",
                max_length=12,
                verbose_name="状态",
            ),
        ),
        migrations.AddField(
            model_name="incidentphoto",
            name="quarantine",
            field=models.FileField(
                blank=True,
                storage=grids.storage.QuarantineStorage(),
                upload_to="incidents/%Y/%m/",
                verbose_name="待检原件",
            ),
        ),
        migrations.AddField(
            model_name="incidentphoto",
            name="error",
            field=models.CharField(blank=True, max_length=200, verbose_name="未通过原因"),
        ),
        migrations.AddField(
            model_name="incidentphoto",
            name="processed_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="处理时间"),
        ),
        migrations.AlterField(
            model_name="incidentphoto",
            name="image",
            field=models.ImageField(
                blank=True,
                storage=grids.storage.PrivateStorage(),
                upload_to="incidents/%Y/%m/",
                verbose_name="照片",
            ),
        ),
        migrations.AlterField(
            model_name="incidentphoto",
            name="thumbnail",
            field=models.ImageField(
                blank=True,
                storage=grids.storage.PrivateStorage(),
                upload_to="incidents/thumbs/%Y/%m/",
                verbose_name="缩略图",
            ),
        ),
        migrations.AlterField(
            model_name="incidentevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("report", "上报"),
                    ("accept", "受理"),
                    ("reject", "不予受理"),
                    ("dispatch", "派单"),
                    ("return", "退回"),
                    ("extension_request", "申请延期"),
                    ("extension_decision", "延期审批"),
                    ("resolve", "办结"),
                    ("verify", "核查通过"),
                    ("verify_fail", "核查未通过"),
                    ("evaluate", "评价"),
                    ("reopen", "重办"),
                    ("escalate", "升级督办"),
                    ("supervise", "转督办"),
                    ("auto_close", "自动归档"),
                    ("me_too", "附议"),
                    ("note", "备注"),
                    ("photo_rejected", "照片未通过检查"),
                ],
                max_length=20,
                verbose_name="动作",
            ),
        ),
        migrations.AddConstraint(
            model_name="incidentphoto",
            constraint=models.CheckConstraint(
                condition=~models.Q(status="ready") | (~models.Q(image="") & ~models.Q(thumbnail="")),
                name="incident_photo_ready_has_files",
            ),
        ),
        migrations.AddIndex(
            model_name="incidentphoto",
            index=models.Index(
                condition=models.Q(status="processing"),
                fields=["uploaded_at"],
                name="incident_photo_processing",
            ),
        ),
    ]
