from django.urls import path

from . import files, views

app_name = "points"

urlpatterns = [
    path("", views.my_points, name="mine"),
    path("open/", views.account_open, name="account-open"),
    path("offers/", views.offer_list, name="offers"),
    path("offers/<int:pk>/", views.offer_detail, name="offer"),
    path("orders/", views.order_list, name="orders"),
    path("orders/<int:pk>/", views.order_detail, name="order"),
    path("orders/<int:pk>/status/", views.order_status, name="order-status"),
    path("donate/", views.donate, name="donate"),
    path("claims/new/", views.claim_new, name="claim-new"),
    path("claims/", views.my_claims, name="my-claims"),
    path("claims/<int:pk>/evidence/", files.claim_evidence, name="claim-evidence"),
    path("publicity/", views.publicity, name="publicity"),
    path("counter/", views.counter, name="counter"),
    path("staff/", views.staff, name="staff"),
    path("staff/sanctions/", views.sanctions, name="sanctions"),
    path("staff/pool/", views.pool, name="pool"),
    path("staff/ranking/", views.ranking, name="ranking"),
]
