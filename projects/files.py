"""Renewal-project photos, served only to those who may read the project."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404

from qionglai.core.uploads import send_file

from . import selectors
from .models import RenewalPhoto


@login_required
def renewal_photo(request, pk: int, thumb: bool = False):
    photo = get_object_or_404(RenewalPhoto, pk=pk)
    if not selectors.renewal_list_for(user=request.user).filter(pk=photo.project_id).exists():
        raise Http404
    return send_file(photo.thumbnail if thumb and photo.thumbnail else photo.image)
