"""The project's URLs with reporting's mounted the way marketplace/urls.py is asked to."""

from django.urls import include, path

from marketplace.urls import urlpatterns as project_urlpatterns

urlpatterns = [path("", include("reporting.urls")), *project_urlpatterns]
