"""(being written)"""
from django.http import HttpResponse


def dashboard(request, *args, **kwargs):
    return HttpResponse(status=501)


def queue(request, *args, **kwargs):
    return HttpResponse(status=501)


def batch_approve(request, *args, **kwargs):
    return HttpResponse(status=501)


def my_proposals(request, *args, **kwargs):
    return HttpResponse(status=501)
