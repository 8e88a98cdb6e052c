"""A list of choice keys in one text column (governance.kernel.choices): the models read
it through the same two properties."""

from governance.kernel import choices
from grids.enums import CareTag
from grids.models import Household
from volunteers.enums import Skill
from volunteers.models import Volunteer


def test_a_household_reads_its_care_tags_as_keys_and_labels():
    household = Household(care_tags="subsistence,elderly_alone,no_longer_offered")
    assert household.care_tag_list == ["subsistence", "elderly_alone", "no_longer_offered"]
    assert household.care_tag_labels == [str(CareTag.SUBSISTENCE.label), str(CareTag.ELDERLY_ALONE.label),
                                         "no_longer_offered"]
    assert Household(care_tags="").care_tag_list == [] and Household(care_tags=None).care_tag_labels == []


def test_a_volunteer_reads_its_skills_the_same_way():
    volunteer = Volunteer(skills="errands,elderly_care")
    assert volunteer.skill_list == ["errands", "elderly_care"]
    assert volunteer.skill_labels == choices.labels("errands,elderly_care", Skill.choices) == ["代办跑腿", "助老"]
