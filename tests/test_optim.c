/* Placeholder suite for optim. */
#include "testutil.h"

START_TEST(test_placeholder)
{
    ck_assert_ptr_nonnull(tu_ctx());
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("optim");
    TCase *tc = tcase_create("placeholder");
    tcase_add_test(tc, test_placeholder);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_main(make_suite());
}
