//! Custom items: a small string map attached to rooms and live events.
//!
//! Invariant: a `CustomItems` value always satisfies the spec's limits (at most
//! [`MAX_CUSTOM_ITEMS`] entries, keys and values at most [`MAX_CUSTOM_ITEM_LEN`] characters,
//! no empty key; for live events also no comma in a key). Every change is checked against the
//! result, so a refused change leaves the original untouched.

use crate::DomainError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const MAX_CUSTOM_ITEMS: usize = 10;
pub const MAX_CUSTOM_ITEM_LEN: usize = 128;

/// Extra rules that differ between the resources carrying custom items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyRule {
    /// Rooms: any non-empty key up to the length limit.
    Plain,
    /// Live events: additionally, a key must not contain a comma.
    NoComma,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(transparent)]
#[schema(value_type = Object, example = json!({"call_quality": "HIGH"}))]
pub struct CustomItems(BTreeMap<String, String>);

/// How `PUT …/custom_items` treats keys that already exist.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CustomItemsMode {
    /// Existing keys get the new values; new keys are added.
    #[default]
    Upsert,
    /// Only keys that don't exist yet are added; existing ones keep their values.
    Insert,
}

impl CustomItems {
    /// Validates items received from outside.
    pub fn new(items: BTreeMap<String, String>, rule: KeyRule) -> Result<Self, DomainError> {
        for (key, value) in &items {
            check_key(key, rule)?;
            check_value(key, value)?;
        }
        check_count(items.len())?;
        Ok(Self(items))
    }

    /// Wraps items read back from trusted storage.
    pub fn from_trusted(items: BTreeMap<String, String>) -> Self {
        Self(items)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// Merges `changes` in and returns the result and the keys whose value was added or
    /// changed (in key order). Fails, changing nothing, when the result would break a limit.
    pub fn merged(
        &self,
        changes: &CustomItems,
        mode: CustomItemsMode,
    ) -> Result<(Self, Vec<String>), DomainError> {
        let mut next = self.0.clone();
        let mut updated = Vec::new();
        for (key, value) in &changes.0 {
            let apply = match (mode, next.get(key)) {
                (_, None) => true,
                (CustomItemsMode::Upsert, Some(old)) => old != value,
                (CustomItemsMode::Insert, Some(_)) => false,
            };
            if apply {
                next.insert(key.clone(), value.clone());
                updated.push(key.clone());
            }
        }
        check_count(next.len())?;
        Ok((Self(next), updated))
    }

    /// Removes `keys` (all items when `None`) and returns the result and the keys that were
    /// actually present. Keys are validated like keys of an update.
    pub fn without(
        &self,
        keys: Option<&[String]>,
        rule: KeyRule,
    ) -> Result<(Self, Vec<String>), DomainError> {
        let Some(keys) = keys else {
            return Ok((Self::default(), self.0.keys().cloned().collect()));
        };
        for key in keys {
            check_key(key, rule)?;
        }
        let mut next = self.0.clone();
        let mut deleted: Vec<String> = keys
            .iter()
            .filter(|k| next.remove(*k).is_some())
            .cloned()
            .collect();
        deleted.dedup();
        Ok((Self(next), deleted))
    }
}

fn check_key(key: &str, rule: KeyRule) -> Result<(), DomainError> {
    if key.is_empty() {
        return Err(DomainError::invalid("custom_items keys must not be empty"));
    }
    if key.chars().count() > MAX_CUSTOM_ITEM_LEN {
        return Err(DomainError::invalid(format!(
            "custom_items key is longer than {MAX_CUSTOM_ITEM_LEN} characters"
        )));
    }
    if rule == KeyRule::NoComma && key.contains(',') {
        return Err(DomainError::invalid(format!(
            "custom_items key '{key}' must not contain a comma"
        )));
    }
    Ok(())
}

fn check_value(key: &str, value: &str) -> Result<(), DomainError> {
    if value.chars().count() > MAX_CUSTOM_ITEM_LEN {
        return Err(DomainError::invalid(format!(
            "custom_items value of '{key}' is longer than {MAX_CUSTOM_ITEM_LEN} characters"
        )));
    }
    Ok(())
}

fn check_count(count: usize) -> Result<(), DomainError> {
    if count > MAX_CUSTOM_ITEMS {
        return Err(DomainError::invalid(format!(
            "custom_items can hold at most {MAX_CUSTOM_ITEMS} items"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(pairs: &[(&str, &str)]) -> CustomItems {
        let map = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        CustomItems::new(map, KeyRule::Plain).unwrap()
    }

    #[test]
    fn limits_hold_at_and_just_past_the_boundary() {
        let at = "k".repeat(MAX_CUSTOM_ITEM_LEN);
        let past = "k".repeat(MAX_CUSTOM_ITEM_LEN + 1);
        assert!(CustomItems::new([(at.clone(), at.clone())].into(), KeyRule::Plain).is_ok());
        assert!(CustomItems::new([(past.clone(), "v".into())].into(), KeyRule::Plain).is_err());
        assert!(CustomItems::new([("k".into(), past)].into(), KeyRule::Plain).is_err());
        let ten = (0..10)
            .map(|i| (format!("k{i}"), "v".to_string()))
            .collect();
        assert!(CustomItems::new(ten, KeyRule::Plain).is_ok());
        let eleven = (0..11)
            .map(|i| (format!("k{i}"), "v".to_string()))
            .collect();
        assert!(CustomItems::new(eleven, KeyRule::Plain).is_err());
    }

    #[test]
    fn multibyte_characters_count_as_one() {
        let value = "é".repeat(MAX_CUSTOM_ITEM_LEN);
        assert!(CustomItems::new([("k".into(), value)].into(), KeyRule::Plain).is_ok());
    }

    #[test]
    fn empty_key_and_comma_rules() {
        assert!(CustomItems::new([(String::new(), "v".into())].into(), KeyRule::Plain).is_err());
        assert!(CustomItems::new([("a,b".into(), "v".into())].into(), KeyRule::Plain).is_ok());
        assert!(CustomItems::new([("a,b".into(), "v".into())].into(), KeyRule::NoComma).is_err());
    }

    #[test]
    fn upsert_reports_only_added_or_changed_keys() {
        let base = items(&[("a", "1"), ("b", "2")]);
        let (next, updated) = base
            .merged(
                &items(&[("a", "1"), ("b", "3"), ("c", "4")]),
                CustomItemsMode::Upsert,
            )
            .unwrap();
        assert_eq!(updated, vec!["b", "c"]);
        assert_eq!(next, items(&[("a", "1"), ("b", "3"), ("c", "4")]));
    }

    #[test]
    fn insert_keeps_existing_values() {
        let base = items(&[("a", "1")]);
        let (next, updated) = base
            .merged(&items(&[("a", "9"), ("b", "2")]), CustomItemsMode::Insert)
            .unwrap();
        assert_eq!(updated, vec!["b"]);
        assert_eq!(next.get("a"), Some("1"));
    }

    #[test]
    fn merge_past_the_limit_fails() {
        let base = CustomItems::new(
            (0..10)
                .map(|i| (format!("k{i}"), "v".to_string()))
                .collect(),
            KeyRule::Plain,
        )
        .unwrap();
        assert!(
            base.merged(&items(&[("new", "v")]), CustomItemsMode::Upsert)
                .is_err()
        );
        // Updating an existing key at the limit is fine.
        assert!(
            base.merged(&items(&[("k0", "w")]), CustomItemsMode::Upsert)
                .is_ok()
        );
    }

    #[test]
    fn delete_selected_or_all() {
        let base = items(&[("a", "1"), ("b", "2")]);
        let (next, deleted) = base
            .without(Some(&["a".into(), "zz".into()]), KeyRule::Plain)
            .unwrap();
        assert_eq!(deleted, vec!["a"]);
        assert_eq!(next, items(&[("b", "2")]));
        let (next, deleted) = base.without(None, KeyRule::Plain).unwrap();
        assert_eq!(deleted, vec!["a", "b"]);
        assert!(next.is_empty());
    }
}
