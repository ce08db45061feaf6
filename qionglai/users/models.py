from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

PATH_VALIDATOR = RegexValidator(
    r"^\d{6}(\.[0-9a-z]+)*$",
    _("路径格式应为 510183.001.012 这样以点分隔的编码"),
)
PHONE_VALIDATOR = RegexValidator(r"^1\d{10}$", _("请输入 11 位手机号码"))


class Role(models.TextChoices):
    RESIDENT = "resident", _("居民")
    PARTY_MEMBER = "party_member", _("党员")
    GRID_WORKER = "grid_worker", _("网格员")
    COMMUNITY_STAFF = "community_staff", _("社区工作者")
    TOWN_STAFF = "town_staff", _("镇街工作人员")
    DEPARTMENT_HANDLER = "department_handler", _("部门经办人")
    MERCHANT = "merchant", _("商户")
    CITY_STAFF = "city_staff", _("市级工作人员")
    ADMIN = "admin", _("系统管理员")


class GridPost(models.TextChoices):
    LEAD = "lead", _("网格长")
    FULL_TIME = "full_time", _("专职网格员")
    PART_TIME = "part_time", _("兼职网格员")
    INSTRUCTOR = "instructor", _("网格指导员")
    RESERVE = "reserve", _("后备力量")


class User(AbstractUser):
    """A person who signs in: by username or by mobile phone number."""

    phone = models.CharField(
        _("手机号"), max_length=11, unique=True, null=True, blank=True, validators=[PHONE_VALIDATOR]
    )
    real_name = models.CharField(_("姓名"), max_length=50, blank=True)
    # Counts sign-ins of a staff account that has no second factor yet; enrolment is forced
    # once it passes settings.OTP_GRACE_LOGINS (design §12).
    logins_without_second_factor = models.PositiveIntegerField(_("未启用动态验证码的登录次数"), default=0)

    objects = UserManager()

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.real_name or self.username

    @property
    def display_name(self) -> str:
        return self.real_name or self.username


class Grant(models.Model):
    """One (role, path) authority of a user (design §3): it covers every place whose path
    starts with `path`. `unit` names the organisation acted for where the role needs one
    (a department code for department_handler, a merchant id for merchant)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="grants", verbose_name=_("用户"))
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)
    path = models.CharField(_("范围路径"), max_length=120, validators=[PATH_VALIDATOR])
    post = models.CharField(_("岗位"), max_length=16, choices=GridPost.choices, blank=True)
    unit = models.CharField(_("所属单位编码"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("授予时间"), auto_now_add=True)
    retired_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("角色授权")
        verbose_name_plural = _("角色授权")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "path", "unit"],
                condition=Q(retired_at__isnull=True),
                name="grant_unique_active",
            )
        ]
        indexes = [models.Index(fields=["role", "path"], name="grant_role_path")]

    def __str__(self) -> str:
        return f"{self.get_role_display()} @ {self.path}"


class ApiToken(models.Model):
    """A revocable, expiring API token (design §12). Only a SHA-256 of the key is stored, so a
    database read does not hand out working tokens; the key is shown once, when issued."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("用户")
    )
    digest = models.CharField(_("令牌摘要"), max_length=64, unique=True)
    prefix = models.CharField(_("令牌前缀"), max_length=8)
    label = models.CharField(_("名称"), max_length=60, blank=True)
    created_at = models.DateTimeField(_("签发时间"), default=timezone.now)
    expires_at = models.DateTimeField(_("到期时间"))
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
