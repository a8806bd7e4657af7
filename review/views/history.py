"""(being written)"""
from django.http import HttpResponse


def revision_diff(request, *args, **kwargs):
    return HttpResponse(status=501)


def revert(request, *args, **kwargs):
    return HttpResponse(status=501)


def document_corrections(request, *args, **kwargs):
    return HttpResponse(status=501)


def edition_corrections(request, *args, **kwargs):
    return HttpResponse(status=501)
