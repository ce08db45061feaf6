from django.urls import path

from . import views

app_name = "grids"

urlpatterns = [
    path("", views.home, name="home"),
    path("report/", views.report, name="report"),
    path("sw.js", views.report_service_worker, name="report-sw"),
    path("tasks/", views.task_list, name="tasks"),
    path("mine/", views.my_reports, name="mine"),
    path("incidents/", views.incident_list, name="incident-list"),
    path("incidents/export/", views.incident_export, name="incident-export"),
    path("incidents/<int:pk>/", views.incident_detail, name="incident-detail"),
    path("photos/<int:pk>/", views.photo, name="photo"),
    path("photos/<int:pk>/thumb/", views.photo, {"thumb": True}, name="photo-thumb"),
    path("extensions/", views.extension_list, name="extensions"),
    path("grids/", views.grid_list, name="grid-list"),
    path("grids/<int:pk>/", views.grid_detail, name="grid-detail"),
]
