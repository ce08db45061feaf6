from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from . import selectors


@login_required
def topic_detail(request, pk: int):
    topic = get_object_or_404(selectors.topic_list_for(user=request.user), pk=pk)
    return render(request, "consultation/topic_detail.html", {"topic": topic})
