import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import FormField from './FormField.vue';

describe('FormField', () => {
  it('labels its input, and ties the API messages to it', async () => {
    const wrapper = mount(FormField, {
      props: { label: 'Password', type: 'password', modelValue: '', errors: ['This password is too common.'] },
    });
    const input = wrapper.get('input');
    expect(wrapper.get('label').attributes('for')).toBe(input.attributes('id'));
    expect(input.attributes('type')).toBe('password');
    expect(input.attributes('aria-invalid')).toBe('true');
    expect(wrapper.get(`#${input.attributes('aria-describedby')}`).text()).toBe('This password is too common.');
    await input.setValue('s3cret');
    expect(wrapper.emitted('update:modelValue')).toEqual([['s3cret']]);
  });

  it('says nothing when there is no error', () => {
    const input = mount(FormField, { props: { label: 'Title', modelValue: 'x' } }).get('input');
    expect(input.attributes('aria-invalid')).toBeUndefined();
    expect(input.attributes('aria-describedby')).toBeUndefined();
  });
});
