"""Claim evidence photos, served only to the claimant and to staff who read that ledger."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404

from qionglai.core.uploads import send_file
from qionglai.users import access

from .models import Claim


@login_required
def claim_evidence(request, pk: int):
    claim = get_object_or_404(Claim.objects.select_related("account"), pk=pk)
    user = request.user
    if not (access.owns(user, claim.account.user_id) or access.can(user, "points.view", claim.account.path)):
        raise Http404  # absent and forbidden look the same
    return send_file(claim.evidence)
