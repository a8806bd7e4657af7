"""(being written)"""
from django.http import HttpResponse


def proposal_detail(request, *args, **kwargs):
    return HttpResponse(status=501)


def proposal_retarget(request, *args, **kwargs):
    return HttpResponse(status=501)
