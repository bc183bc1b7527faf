"""The step-6 plan: dependencies, critical path, skip rules."""

from yolobatch.domain.plan import PLAN, SPECS, Outcome, SubStep, all_dependents, priority_key, skip_reason

S = SubStep
DONE = Outcome("completed", {})
SKIPPED = Outcome("skipped", {})


def wire(**overrides):
    config = {
        "account": {"registerNewUser": True},
        "menu": {"selectedMenuId": "m1", "uploadImages": True, "addOptionSets": True, "addItemTags": True},
        "onboarding": {"createOnboardingUser": True, "syncOnboardingRecord": True},
    }
    for section, values in overrides.items():
        config.setdefault(section, {}).update(values)
    return config


def test_plan_order_is_topological_and_complete():
    seen: set[SubStep] = set()
    for spec in PLAN:
        assert set(spec.needs) <= seen, f"{spec.key} listed before a dependency"
        seen.add(spec.key)
    assert seen == set(SubStep)


def test_true_dependencies_not_phases():
    assert SPECS[S.RESTAURANT_REGISTRATION].needs == (S.CLOUDWAITRESS_ACCOUNT,)
    assert set(SPECS[S.MENU_IMPORT].needs) == {S.RESTAURANT_REGISTRATION, S.UPLOAD_IMAGES}
    assert SPECS[S.OPTION_SETS].needs == (S.MENU_IMPORT,)
    assert set(SPECS[S.SYNC_ONBOARDING_USER].needs) == {
        S.RESTAURANT_REGISTRATION,
        S.CREATE_ONBOARDING_USER,
        S.PAYMENT_CONFIG,
        S.WEBSITE_CONFIG,
    }


def test_failure_of_account_blocks_everything_downstream_of_registration():
    blocked = all_dependents(S.CLOUDWAITRESS_ACCOUNT)
    assert blocked[0] == S.RESTAURANT_REGISTRATION
    assert S.ITEM_TAGS in blocked and S.CODE_GENERATION not in blocked


def test_critical_path_gets_higher_priority():
    assert priority_key(S.CLOUDWAITRESS_ACCOUNT) < priority_key(S.SERVICES_CONFIG)
    assert priority_key(S.MENU_IMPORT) <= priority_key(S.ITEM_TAGS)
    assert all(1 <= priority_key(spec.key) <= 5 for spec in PLAN)


def test_skip_rules():
    assert skip_reason(S.CLOUDWAITRESS_ACCOUNT, wire(account={"registerNewUser": False}), {}) == (
        "Account registration disabled"
    )
    assert skip_reason(S.UPLOAD_IMAGES, wire(menu={"uploadImages": False}), {}) is not None
    assert skip_reason(S.MENU_IMPORT, wire(menu={"selectedMenuId": None}), {}) == "No menu selected"
    deps = {S.MENU_IMPORT: SKIPPED}
    assert skip_reason(S.OPTION_SETS, wire(), deps) == "Menu import failed or skipped"
    assert skip_reason(S.ITEM_TAGS, wire(), {S.MENU_IMPORT: DONE}) is None
    sync_deps = {
        S.RESTAURANT_REGISTRATION: DONE,
        S.CREATE_ONBOARDING_USER: SKIPPED,
        S.PAYMENT_CONFIG: DONE,
        S.WEBSITE_CONFIG: DONE,
    }
    assert skip_reason(S.SYNC_ONBOARDING_USER, wire(), sync_deps) is not None
    sync_deps[S.CREATE_ONBOARDING_USER] = DONE
    assert skip_reason(S.SYNC_ONBOARDING_USER, wire(), sync_deps) is None
    assert skip_reason(
        S.WEBSITE_CONFIG, wire(), {S.CODE_GENERATION: SKIPPED, S.RESTAURANT_REGISTRATION: DONE}
    )


def test_steps_enabled_false_skips_anything():
    config = wire()
    config["stepsEnabled"] = {"servicesConfig": False}
    assert skip_reason(S.SERVICES_CONFIG, config, {S.RESTAURANT_REGISTRATION: DONE}) == "Disabled in config"
