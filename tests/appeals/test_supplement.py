"""The tracking page (issue 20 §2): the resident's photos and the 办结 photos, resized and
without metadata, served only after the resident's proof; the rating they gave; and the
补充 of text and photos while the appeal is open — an event, and a message in the handling
unit's inbox."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from appeals import services
from appeals.enums import AppealAction, AppealState, AttachmentKind, QueueLevel
from appeals.models import Appeal, AppealAttachment, AppealEvent
from governance.enums import NotificationKind
from governance.kernel.errors import Conflict
from governance.models import Notification
from tests.appeals.factories import community_category, grid_category, receive
from tests.helpers import detail_url, jpeg, track_url

A = AppealAction
pytestmark = pytest.mark.django_db
PHONE = "13812345678"


def big_photo_with_gps(name="phone.jpg", size=(3000, 2000)) -> SimpleUploadedFile:
    """A phone photo: large, with EXIF (camera and a GPS position)."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 27.0)}  # GPSInfo
    buf = io.BytesIO()
    Image.new("RGB", size, (20, 120, 200)).save(buf, "JPEG", exif=exif)
    return SimpleUploadedFile(name, buf.getvalue(), content_type="image/jpeg")


def proven(client, appeal):
    response = client.post(track_url(appeal.tracking_code), {"phone_last4": PHONE[-4:]})
    assert response.status_code == 302
    return client


def photo_url(appeal, pk):
    return reverse("public:track-photo", args=[appeal.tracking_code, pk])


# --- 补充 -----------------------------------------------------------------------------------


def test_a_supplement_with_a_photo_reaches_the_handler(client, city, relay, login):
    appeal = receive(city, category=grid_category(), phone=PHONE)
    version = appeal.version
    proven(client, appeal)
    page = client.get(track_url(appeal.tracking_code)).content.decode()
    assert 'id="supplement"' in page and 'enctype="multipart/form-data"' in page
    response = client.post(reverse("public:track-supplement", args=[appeal.tracking_code]),
                           {"text": "垃圾又堆起来了，今天更多。", "photos": [big_photo_with_gps()]})
    assert response.status_code == 302 and response.url == track_url(appeal.tracking_code)

    event = AppealEvent.objects.get(appeal=appeal, action=A.SUPPLEMENT)
    assert event.actor_label == "居民" and event.actor_id is None and event.note == "垃圾又堆起来了，今天更多。"
    assert event.data == {"photos": 1} and event.to_state == event.from_state == AppealState.DISPATCHED
    photo = AppealAttachment.objects.get(event=event)
    assert photo.kind == AttachmentKind.SUPPLEMENT
    with Image.open(photo.image.open("rb")) as stored:
        assert not stored.getexif(), "stored without metadata, as at intake"
    appeal.refresh_from_db()
    assert appeal.version == version, "no handler's open form goes stale"

    # The handling grid's worker finds it in the inbox, and the text and photo on the appeal.
    relay()
    note = Notification.objects.get(recipient=city.users.grid_worker, kind=NotificationKind.SUPPLEMENT)
    assert appeal.tracking_code in note.title and "垃圾又堆起来了" in note.body and "附照片 1 张" in note.body
    assert note.link == detail_url(appeal)
    assert not Notification.objects.filter(recipient=city.users.grid_worker2).exists()
    staff = login(city.users.grid_worker).get(detail_url(appeal)).content.decode()
    assert "居民补充" in staff and "垃圾又堆起来了，今天更多。" in staff
    assert reverse("appeals:photo", args=[appeal.tracking_code, photo.pk]) in staff

    # The resident sees it among their photos and in the timeline.
    client.logout()
    proven(client, appeal)
    page = client.get(track_url(appeal.tracking_code)).content.decode()
    assert photo_url(appeal, photo.pk) in page and "垃圾又堆起来了，今天更多。" in page


def test_a_supplement_of_an_appeal_waiting_in_a_queue_reaches_the_queue(city, relay):
    appeal = receive(city, category=None, phone=PHONE)  # no category: waits for the community
    assert appeal.state == AppealState.RECEIVED and appeal.queue_level == QueueLevel.COMMUNITY
    services.appeal_supplement(tracking_code=appeal.tracking_code, phone_last4="5678", text="补充：在东门旁边")
    relay()
    assert Notification.objects.filter(recipient=city.users.community_worker, kind=NotificationKind.SUPPLEMENT).exists()
    assert not Notification.objects.filter(recipient=city.users.grid_worker).exists()


def test_a_supplement_needs_something_an_open_appeal_and_the_proof(client, city):
    appeal = receive(city, category=grid_category(), phone=PHONE)
    url = reverse("public:track-supplement", args=[appeal.tracking_code])
    # Not proven in this browser: back to the digits, nothing recorded.
    assert client.post(url, {"text": "补充"}).url == track_url(appeal.tracking_code)
    proven(client, appeal)
    empty = client.post(url, {"text": "  "})
    assert empty.status_code == 400 and "请填写补充内容或选择照片" in empty.content.decode()
    bad = client.post(url, {"photos": [SimpleUploadedFile("x.jpg", b"not an image", content_type="image/jpeg")]})
    assert bad.status_code == 400 and "不是有效的图片" in bad.content.decode()
    assert not AppealEvent.objects.filter(appeal=appeal, action=A.SUPPLEMENT).exists()
    services.appeal_withdraw_by_resident(tracking_code=appeal.tracking_code, phone_last4="5678")
    assert 'id="supplement"' not in client.get(track_url(appeal.tracking_code)).content.decode()
    closed = client.post(url, {"text": "补充"})
    assert closed.status_code == 409 and "已撤回" in closed.content.decode()
    with pytest.raises(Conflict):
        services.appeal_supplement(tracking_code=appeal.tracking_code, phone_last4="5678", text="补充")


def test_the_api_takes_a_supplement_of_text(city, client):
    appeal = receive(city, category=grid_category(), phone=PHONE)
    response = client.post(reverse("api-track", args=[appeal.tracking_code]),
                           {"phone_last4": "5678", "supplement": "楼道灯也坏了"}, content_type="application/json")
    assert response.status_code == 200
    assert AppealEvent.objects.get(appeal=appeal, action=A.SUPPLEMENT).note == "楼道灯也坏了"
    assert any(s["action"] == A.SUPPLEMENT for s in response.json()["steps"])


# --- photos and the rating -------------------------------------------------------------------


def test_the_tracking_page_shows_the_photos_resized_and_the_rating(client, city):
    u = city.users
    appeal = receive(city, category=grid_category(), phone=PHONE, photos=[big_photo_with_gps()])
    intake_photo = appeal.attachments.get()
    appeal = services.appeal_act(actor=u.grid_worker, appeal=appeal, action=A.SIGN, contact=True)
    appeal = services.appeal_act(actor=u.grid_worker, appeal=appeal, action=A.RESOLVE, result="已清运完毕。",
                                 photos=[jpeg("done.jpg")])
    result_photo = appeal.attachments.get(kind=AttachmentKind.RESULT)
    appeal.refresh_from_db()
    assert appeal.state == AppealState.AWAITING_EVALUATION

    # Before the proof: nothing.
    assert client.get(photo_url(appeal, intake_photo.pk)).status_code == 404
    proven(client, appeal)
    page = client.get(track_url(appeal.tracking_code)).content.decode()
    assert 'id="resident-photos"' in page and photo_url(appeal, intake_photo.pk) in page
    assert 'id="result-photos"' in page and photo_url(appeal, result_photo.pk) in page
    served = client.get(photo_url(appeal, intake_photo.pk))
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert served["Cache-Control"] == "private, max-age=3600"
    with Image.open(io.BytesIO(served.content)) as image:
        assert max(image.size) == 1280 and image.size == (1280, 853)
        assert not image.getexif()
    assert client.get(photo_url(appeal, result_photo.pk)).status_code == 200

    services.appeal_evaluate(tracking_code=appeal.tracking_code, phone_last4="5678", solved=True,
                             rating="basically", comment="清理得很及时")
    page = client.get(track_url(appeal.tracking_code)).content.decode()
    assert 'id="my-rating"' in page and "基本满意" in page and "问题已解决" in page and "清理得很及时" in page
    assert 'id="supplement"' not in page, "a closed appeal takes no 补充"


def test_result_photos_wait_for_the_result_and_other_appeals_photos_stay_hidden(client, city):
    u = city.users
    appeal = receive(city, category=grid_category(), phone=PHONE)
    appeal = services.appeal_act(actor=u.grid_worker, appeal=appeal, action=A.SIGN, contact=True)
    other = receive(city, category=community_category(), phone="13900001111", photos=[jpeg()])
    other_photo = other.attachments.get()
    proven(client, appeal)
    # Another appeal's photo under this appeal's code, or under its own code: 404.
    assert client.get(photo_url(appeal, other_photo.pk)).status_code == 404
    assert client.get(photo_url(other, other_photo.pk)).status_code == 404
    appeal = services.appeal_act(actor=u.grid_worker, appeal=appeal, action=A.RESOLVE, result="已处理",
                                 photos=[jpeg("done.jpg")])
    result_photo = appeal.attachments.get(kind=AttachmentKind.RESULT)
    # While the result is not yet told (resolved, waiting for 核查 or feedback) its photo stays hidden.
    Appeal.objects.filter(pk=appeal.pk).update(state=AppealState.RESOLVED)
    assert client.get(photo_url(appeal, result_photo.pk)).status_code == 404
    assert photo_url(appeal, result_photo.pk) not in client.get(track_url(appeal.tracking_code)).content.decode()


def test_a_photo_not_stored_at_submission_is_sent_again_by_a_supplement(client, city, settings, tmp_path):
    category = grid_category(public=True)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    settings.MEDIA_ROOT = str(blocker / "media")  # every write fails, as on a full disk
    response = client.post(reverse("public:submit"), {
        "street": city.street_a.code, "community": city.comm_a.code, "building": city.building_a1.code,
        "category": str(category.pk), "description": "楼道堆满杂物，影响通行", "phone": PHONE,
        "photos": [jpeg("楼道.jpg")]})
    assert response.status_code == 302
    appeal = Appeal.objects.get()
    done = client.get(reverse("public:submit-done")).content.decode()
    assert "楼道.jpg" in done and f'{track_url(appeal.tracking_code)}#supplement' in done

    settings.MEDIA_ROOT = str(tmp_path / "media")  # the disk is back
    page = client.get(track_url(appeal.tracking_code)).content.decode()  # the code is remembered from the submission
    assert 'id="supplement"' in page
    client.post(reverse("public:track-supplement", args=[appeal.tracking_code]), {"photos": [jpeg("楼道.jpg")]})
    added = AppealAttachment.objects.get(appeal=appeal)
    assert added.kind == AttachmentKind.SUPPLEMENT and added.event.note == ""
    assert photo_url(appeal, added.pk) in client.get(track_url(appeal.tracking_code)).content.decode()
