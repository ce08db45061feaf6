from django.contrib.auth import views as auth_views
from django.urls import path

from . import views
from .forms import LoginForm
from .throttle import LoginView

urlpatterns = [
    path(
        "login/",
        LoginView.as_view(authentication_form=LoginForm, redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/",
        auth_views.PasswordChangeView.as_view(success_url="/accounts/password/done/"),
        name="password_change",
    ),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("otp/enrol/", views.otp_enrol, name="otp_enrol"),
    path("otp/verify/", views.otp_verify, name="otp_verify"),
    path("security/", views.security, name="account_security"),
    path("security/recovery-codes/", views.recovery_regenerate, name="otp_recovery_regenerate"),
    path("security/tokens/", views.token_new, name="token_new"),
    path("security/tokens/<int:pk>/revoke/", views.token_revoke_view, name="token_revoke"),
]
