-- Counts kept by the database itself, in the same transaction as every write, so that a list's
-- `count` reads one row at any table size and stays exact under concurrent writes: row_counts
-- holds the number of tasks and of users, users.task_count each user's number of tasks.
INSERT INTO `row_counts` (`name`, `count`) VALUES ('tasks', (SELECT count(*) FROM `tasks`)), ('users', (SELECT count(*) FROM `users`));
--> statement-breakpoint
UPDATE `users` SET `task_count` = (SELECT count(*) FROM `tasks` WHERE `tasks`.`person_id` = `users`.`id`);
--> statement-breakpoint
CREATE TRIGGER `tasks_count_insert` AFTER INSERT ON `tasks` BEGIN
  UPDATE `row_counts` SET `count` = `count` + 1 WHERE `name` = 'tasks';
  UPDATE `users` SET `task_count` = `task_count` + 1 WHERE `id` = NEW.`person_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `tasks_count_delete` AFTER DELETE ON `tasks` BEGIN
  UPDATE `row_counts` SET `count` = `count` - 1 WHERE `name` = 'tasks';
  UPDATE `users` SET `task_count` = `task_count` - 1 WHERE `id` = OLD.`person_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `tasks_count_move` AFTER UPDATE OF `person_id` ON `tasks` WHEN OLD.`person_id` IS NOT NEW.`person_id` BEGIN
  UPDATE `users` SET `task_count` = `task_count` - 1 WHERE `id` = OLD.`person_id`;
  UPDATE `users` SET `task_count` = `task_count` + 1 WHERE `id` = NEW.`person_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `users_count_insert` AFTER INSERT ON `users` BEGIN
  UPDATE `row_counts` SET `count` = `count` + 1 WHERE `name` = 'users';
END;
--> statement-breakpoint
CREATE TRIGGER `users_count_delete` AFTER DELETE ON `users` BEGIN
  UPDATE `row_counts` SET `count` = `count` - 1 WHERE `name` = 'users';
END;
